"""The import_mappings command."""

import pytest
from django.core.management import CommandError, call_command

from catalog.models import IdentifierMapping, ImportJob

from . import factories as f

pytestmark = pytest.mark.django_db

UPC_A = f.upc("501234567890")
UPC_B = f.upc("501234567891")


@pytest.fixture
def thg_c():
    return f.connector(name="THG C", strategy="C")


@pytest.fixture
def mapping_file(tmp_path):
    def write(text: str, name="mappings.csv"):
        path = tmp_path / name
        path.write_bytes(f.csv_bytes(text))
        return str(path)

    return write


def test_import_mappings_command_writes(thg_c, mapping_file, capsys):
    f.product("MUG-BLUE")
    path = mapping_file(f"sku,upc\nMUG-BLUE,{UPC_A}\n")

    call_command("import_mappings", "THG C", path)

    out = capsys.readouterr().out
    assert out == (
        "1 row read for THG C: 1 identifier mapping was written (1 created, 0 "
        "updated), 0 unchanged, 0 rejected.\n"
    )
    assert IdentifierMapping.objects.get().channel_identifier == "0" + UPC_A
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.SUCCEEDED
    assert job.file_name == "mappings.csv"


def test_import_mappings_command_dry_run(thg_c, mapping_file, capsys):
    f.product("MUG-BLUE")
    path = mapping_file(f"sku,upc\nMUG-BLUE,{UPC_A}\n")

    call_command("import_mappings", "THG C", path, "--dry-run")

    assert "1 identifier mapping would be written" in capsys.readouterr().out
    assert IdentifierMapping.objects.count() == 0
    assert ImportJob.objects.get().status == ImportJob.Status.CHECKED


def test_import_command_bad_rows_fail(thg_c, mapping_file, capsys):
    f.product("MUG-BLUE")
    path = mapping_file(f"sku,upc\nMUG-BLUE,{UPC_A}\nMUG-BLUE,5012345678901\n")

    with pytest.raises(CommandError, match="Nothing written to THG C: 1 of 2"):
        call_command("import_mappings", "THG C", path)

    err = capsys.readouterr().err
    assert "Rejected: Line 3, column upc, value '5012345678901': " in err
    assert IdentifierMapping.objects.count() == 0
    assert ImportJob.objects.get().status == ImportJob.Status.INVALID


def test_import_mappings_command_skip_bad_rows(thg_c, mapping_file, capsys):
    f.product("MUG-BLUE")
    f.product("CUP")
    path = mapping_file(f"sku,upc\nMUG-BLUE,{UPC_A}\nNOPE,{UPC_B}\n")

    call_command("import_mappings", "THG C", path, "--skip-bad-rows")

    captured = capsys.readouterr()
    assert "1 identifier mapping was written" in captured.out
    assert "1 rejected" in captured.out
    assert "Rejected: Line 3, column sku, value 'NOPE'" in captured.err
    assert IdentifierMapping.objects.count() == 1


def test_import_mappings_command_warns_extra_columns(thg_c, mapping_file, capsys):
    f.product("MUG-BLUE")
    path = mapping_file(f"sku,upc,title\nMUG-BLUE,{UPC_A},Mug\n")

    call_command("import_mappings", "THG C", path)

    assert "Warning: Ignored the column 'title'" in capsys.readouterr().err


def test_import_mappings_command_unknown_connector(mapping_file):
    f.connector(name="THG C", strategy="C")

    with pytest.raises(CommandError, match="Connector 'Nope' not found. Known "):
        call_command("import_mappings", "Nope", mapping_file("sku,upc\n"))


def test_import_mappings_command_missing_file(thg_c, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_mappings", "THG C", str(tmp_path / "none.csv"))

    assert ImportJob.objects.count() == 0
