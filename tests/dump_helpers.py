# SPDX-License-Identifier: GPL-2.0
"""The table geometry pdma-dump reports for the test range, shared by the
golden-image tests (test_pdma_dump_images.py) and the guest tests
(test_pdma_dump_guest.py)."""

from conftest import RANGE_SIZE, RANGE_START

# Default capacity 1024: one copy is 128 + 1024 * 128 bytes, page rounded.
CAPACITY = 1024
COPY_SIZE = 0x21000
DATA_OFFSET = 2 * COPY_SIZE

REGION = {"base": RANGE_START, "size": RANGE_SIZE, "capacity": CAPACITY,
          "copy_size": COPY_SIZE, "data_offset": DATA_OFFSET, "from": "copy A header"}
