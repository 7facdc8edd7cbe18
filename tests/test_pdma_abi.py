# SPDX-License-Identifier: GPL-2.0
"""/dev/pdma ABI error paths, each with its exact errno.

One guest boot runs tests/guest/pdma_abi_test.c on a freshly formatted
region; every line it prints becomes its own case here, and a case the
program never reported fails.
"""

import json

import pytest

from conftest import ok

# name: the behaviour it checks (the guest program asserts the errno).
CASES = {
    "alloc_zero_size_einval": "Expect ALLOC of 0 bytes to fail with EINVAL.",
    "alloc_huge_size_einval": "Expect ALLOC larger than the data area to fail with EINVAL.",
    "alloc_size_overflow_einval": "Expect ALLOC whose page rounding overflows to fail with EINVAL.",
    "alloc_align_not_pow2_einval": "Expect an alignment that is not a power of two to fail with EINVAL.",
    "alloc_align_below_4k_einval": "Expect an alignment below 4 KiB to fail with EINVAL.",
    "alloc_align_above_1g_einval": "Expect an alignment above 1 GiB to fail with EINVAL.",
    "alloc_unknown_flags_einval": "Expect unknown ALLOC flags to fail with EINVAL.",
    "alloc_reserved_nonzero_einval": "Expect non-zero reserved ALLOC bytes to fail with EINVAL.",
    "alloc_output_field_nonzero_einval": "Expect non-zero output fields on input to fail with EINVAL.",
    "alloc_empty_name_einval": "Expect an empty name to fail with EINVAL.",
    "alloc_unterminated_name_einval": "Expect a name without NUL to fail with EINVAL.",
    "alloc_bytes_after_nul_einval": "Expect junk after the name's NUL to fail with EINVAL.",
    "alloc_duplicate_name_eexist": "Expect a second ALLOC of a live name to fail with EEXIST.",
    "lookup_unknown_enoent": "Expect LOOKUP of an unknown name to fail with ENOENT.",
    "lookup_reserved_nonzero_einval": "Expect non-zero reserved LOOKUP bytes to fail with EINVAL.",
    "lookup_output_field_nonzero_einval": "Expect LOOKUP entry fields other than the name to be zero on input, else EINVAL.",
    "free_unknown_enoent": "Expect FREE of an unknown name to fail with ENOENT.",
    "free_reserved_nonzero_einval": "Expect non-zero reserved FREE bytes to fail with EINVAL.",
    "list_pad_nonzero_einval": "Expect non-zero LIST padding to fail with EINVAL.",
    "list_past_end_enoent": "Expect LIST past the last entry to fail with ENOENT.",
    "info_reserved_nonzero_einval": "Expect non-zero reserved INFO bytes to fail with EINVAL.",
    "unknown_ioctl_enotty": "Expect an unknown ioctl number to fail with ENOTTY.",
    "alloc_larger_than_free_enomem": "Expect ALLOC larger than the largest free extent to fail with ENOMEM.",
    "mmap_past_end_einval": "Expect mmap longer than the allocation to fail with EINVAL.",
    "mmap_private_einval": "Expect MAP_PRIVATE to fail with EINVAL.",
    "mmap_offset_inside_allocation_einval": "Expect an mmap offset inside an allocation to fail with EINVAL.",
    "mmap_offset_of_table_einval": "Expect an mmap offset that is not an allocation to fail with EINVAL.",
    "mmap_whole_allocation": "Expect a MAP_SHARED mapping of a whole allocation to succeed.",
    "free_while_mapped_ebusy": "Expect FREE of a mapped allocation to fail with EBUSY.",
    "free_while_second_mapping_ebusy": "Expect FREE to fail with EBUSY while any mapping remains.",
    "free_after_munmap_succeeds": "Expect FREE to succeed once every mapping is gone.",
    "mmap_2m_aligned_maps_pmds": "Expect a 2 MiB-aligned 8 MiB mapping to fault in 4 PMDs, not 2048 pages.",
    "alloc_escape_byte_name_einval": "Expect a name with an ESC byte to fail with EINVAL.",
    "alloc_newline_name_einval": "Expect a name with a newline to fail with EINVAL.",
    "alloc_del_name_einval": "Expect a name with DEL (0x7f) to fail with EINVAL.",
    "alloc_high_byte_name_einval": "Expect a name with bytes >= 0x80 to fail with EINVAL.",
    "rdonly_alloc_ebadf": "Expect ALLOC on an O_RDONLY fd to fail with EBADF.",
    "rdonly_free_ebadf": "Expect FREE on an O_RDONLY fd to fail with EBADF.",
    "rdonly_lookup_ebadf": "Expect LOOKUP (a claim) on an O_RDONLY fd to fail with EBADF.",
    "rdonly_info_works": "Expect INFO on an O_RDONLY fd to succeed.",
    "rdonly_map_shared_read": "Expect a PROT_READ MAP_SHARED mapping of an O_RDONLY fd to succeed.",
    "rdonly_map_private_einval": "Expect MAP_PRIVATE on an O_RDONLY fd to fail with EINVAL.",
    "norawio_alloc_phys_zero": "Expect ALLOC on an fd opened without CAP_SYS_RAWIO to report phys 0.",
    "norawio_lookup_phys_zero": "Expect LOOKUP on an fd opened without CAP_SYS_RAWIO to report phys 0.",
    "norawio_info_base_zero": "Expect INFO on an fd opened without CAP_SYS_RAWIO to report base 0.",
    "norawio_restore": "Expect CAP_SYS_RAWIO back in the effective set after the no-rawio open (setup for the checks after it).",
    "norawio_mmap_eperm": "Expect mmap on an fd opened without CAP_SYS_RAWIO to fail with EPERM.",
    "rawio_lookup_phys": "Expect LOOKUP on an fd opened with CAP_SYS_RAWIO to report the physical address.",
    "read_at_data_offset_eof": "Expect read() at the data offset to return 0 (end of file).",
    "read_returns_table_area": "Expect read() from 0 to return exactly the table area (data_offset bytes).",
}


@pytest.fixture(scope="module")
def abi_results(artifacts, tmp_path_factory):
    from conftest import Guest
    g = Guest(artifacts.kernel, artifacts.initramfs, str(tmp_path_factory.mktemp("abi")))
    run = ok(g.run("""
phase_1() {
    pdma_load
    pdma_abi_test >/tmp/abi.out || true
    while read -r line; do emit_json "case$(echo "$line" | sed 's/.*"test":"\\([^"]*\\)".*/\\1/')" "$line"; done </tmp/abi.out
}
""", phases=1))
    p = run.phase(1)
    assert p["load.rc"] == "0", p["load.err"]
    return {k[4:]: v for k, v in p.values.items() if k.startswith("case")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_abi(abi_results, case):
    assert case in abi_results, f"guest never ran {case}: {CASES[case]}"
    res = abi_results[case]
    assert res["ok"], f"{CASES[case]} {res['detail']}"
