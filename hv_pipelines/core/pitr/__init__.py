"""Point-in-time recovery: a continuous, encrypted WAL archive plus base backups.

    walfiles.py    WAL file names, LSNs and segment headers, read without a server
    sealed.py      zstd inside the envelope, with an authenticated binding (name, cluster) in front
    archive.py     `hv wal push` / `hv wal fetch`: archive_command and restore_command
    envfile.py     the 0600 env file those commands read their store and key from
    cluster.py     running a PostgreSQL cluster of ours (restored, scratch) as the server's OS user
"""
