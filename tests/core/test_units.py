from hv_pipelines.core.units import human_size


def test_sizes_read_in_powers_of_1000_up_to_terabytes():
    assert [human_size(n) for n in (0, 999, 42_000, 1_300_000, 2 * 10**9, 1.5 * 10**12, 2 * 10**15)] == [
        "0 B", "999 B", "42.0 KB", "1.3 MB", "2.0 GB", "1.5 TB", "2000.0 TB"]
