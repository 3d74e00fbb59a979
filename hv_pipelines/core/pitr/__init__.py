"""Point-in-time recovery: a continuous, encrypted WAL archive plus base backups.

    walfiles.py    WAL file names, LSNs and segment headers, read without a server
    sealed.py      zstd inside the envelope, with an authenticated binding (name, cluster) in front
    archive.py     `hv wal push` / `hv wal fetch`: archive_command and restore_command
    envfile.py     the 0600 env file those commands read their store and key from
    cluster.py     running a PostgreSQL cluster of ours (restored, scratch) as the server's OS user
    basebackup.py  pg_basebackup (tar to stdout) → zstd → envelope → store, then the descriptor
    tartap.py      backup_label and backup_manifest read out of the tar stream as it passes
    descriptor.py  a base backup's MAC-sealed descriptor and the object keys
    inventory.py   one cluster's base backups and WAL: the recoverable window and its gaps
    untar.py       the base backup's tar into a data directory: member checks, digests, GNU tar
    manifest.py    the files' digests, taken as they streamed, against pg_basebackup's manifest
    restore.py     base backup → data directory → manifest checks → recovery to a target
    markers.py     the drill's marker rows (hv_pipelines.pitr_markers)
"""
