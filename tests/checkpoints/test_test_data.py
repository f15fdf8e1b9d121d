"""The test data in tests/data is what its README says: every file listed with its sha256, nothing else."""

import hashlib

from tests.conftest import TEST_DATA_DIR


def test_every_test_data_file_matches_its_recorded_sha256():
    recorded = {}
    for line in (TEST_DATA_DIR / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        recorded[name.removeprefix("./")] = digest
    present = {str(p.relative_to(TEST_DATA_DIR)) for p in TEST_DATA_DIR.rglob("*") if p.is_file()}
    assert present - {"README.md", "SHA256SUMS"} == set(recorded)
    for name, digest in recorded.items():
        assert hashlib.sha256((TEST_DATA_DIR / name).read_bytes()).hexdigest() == digest, name
    readme = (TEST_DATA_DIR / "README.md").read_text()
    for name in recorded:
        assert name.rsplit("/", 1)[-1] in readme, f"{name} has no provenance in tests/data/README.md"
