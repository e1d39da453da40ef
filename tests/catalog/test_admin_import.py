"""Importing and exporting UPC mappings through the admin."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from catalog.models import ChannelListing, IdentifierMapping, ImportJob, Product

from . import factories as f

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("admin:catalog_product_import")
PROCESS_URL = reverse("admin:catalog_product_process_import")
EXPORT_URL = reverse("admin:catalog_product_export")
CHANGELIST_URL = reverse("admin:catalog_product_changelist")
UPC_A = f.upc("501234567890")
UPC_B = f.upc("501234567891")


@pytest.fixture
def thg_c():
    return f.connector(name="THG C", strategy="C")


@pytest.fixture
def products():
    return [f.product("MUG-BLUE"), f.product("MUG-RED")]


def upload(content: bytes, name="mappings.csv"):
    return SimpleUploadedFile(name, content)


def post_upload(client, connector, content, *, skip_bad_rows=False, name="m.csv"):
    data = {
        "resource": "0",
        "connector": connector.pk,
        "format": "0",
        "import_file": upload(content, name),
    }
    if skip_bad_rows:
        data["skip_bad_rows"] = "on"
    return client.post(IMPORT_URL, data)


def confirm(client, preview_response):
    form = preview_response.context["confirm_form"]
    data = {name: form.initial[name] for name in form.fields}
    return client.post(PROCESS_URL, data)


def test_changelist_shows_import_button(admin_client):
    response = admin_client.get(CHANGELIST_URL)

    assert response.status_code == 200
    assert b"Import UPC mappings" in response.content
    assert b"Export UPC mappings" in response.content


def test_view_only_user_sees_no_import_button(viewer_client):
    response = viewer_client.get(CHANGELIST_URL)

    assert response.status_code == 200
    assert b"Import UPC mappings" not in response.content
    assert b"Export UPC mappings" in response.content


def test_view_only_user_import_page_refused(viewer_client):
    response = viewer_client.get(IMPORT_URL)

    assert response.status_code == 403


def test_view_only_user_import_post_refused(viewer_client, thg_c, products):
    response = post_upload(
        viewer_client, thg_c, f.csv_bytes(f"sku,upc\nMUG-BLUE,{UPC_A}\n")
    )

    assert response.status_code == 403
    assert IdentifierMapping.objects.count() == 0
    assert ImportJob.objects.count() == 0


def test_view_only_user_confirm_post_refused(viewer_client, thg_c, products):
    response = viewer_client.post(
        PROCESS_URL,
        {
            "import_file_name": "x",
            "original_file_name": "m.csv",
            "format": "0",
            "resource": "0",
            "connector": thg_c.pk,
        },
    )

    assert response.status_code == 403
    assert IdentifierMapping.objects.count() == 0


def test_user_with_add_and_change_can_import(importer_client, thg_c, products):
    page = importer_client.get(CHANGELIST_URL)
    preview = post_upload(
        importer_client, thg_c, f.csv_bytes(f"sku,upc\nMUG-BLUE,{UPC_A}\n")
    )

    assert b"Import UPC mappings" in page.content
    assert preview.status_code == 200
    assert "confirm_form" in preview.context


def test_admin_import_preview_then_confirm(admin_client, thg_c, products):
    content = f.csv_bytes(f"sku;upc;name\nMUG-BLUE;{UPC_A};Mug\nMUG-RED;{UPC_B};Mug\n")

    preview = post_upload(admin_client, thg_c, content)

    assert preview.status_code == 200
    assert b"Confirm import" in preview.content
    assert b"2 rows read for THG C: 2 identifier mappings would be written" in (
        preview.content
    )
    assert b"Ignored the column &#x27;name&#x27;" in preview.content
    assert IdentifierMapping.objects.count() == 0

    response = confirm(admin_client, preview)

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:catalog_importjob_change", args=[job.pk])
    assert job.status == ImportJob.Status.SUCCEEDED
    assert job.created == 2
    assert job.content == b""
    assert sorted(
        IdentifierMapping.objects.values_list("channel_identifier", "product__sku")
    ) == [("0" + UPC_A, "MUG-BLUE"), ("0" + UPC_B, "MUG-RED")]

    page = admin_client.get(response.url)
    assert page.status_code == 200
    assert b"Imported" in page.content


def test_admin_import_errors_block_confirm(admin_client, thg_c, products):
    content = f.csv_bytes(f"sku,upc\nMUG-BLUE,{UPC_A}\nNOPE,5012345678901\n")

    response = post_upload(admin_client, thg_c, content)

    assert response.status_code == 200
    assert "confirm_form" not in response.context
    assert b"Nothing can be imported" in response.content
    rows = response.context["result"].report.errors
    assert [(e.line, e.column, e.value) for e in rows] == [
        (3, "sku", "NOPE"),
        (3, "upc", "5012345678901"),
    ]
    assert b"<td>3</td>" in response.content
    assert IdentifierMapping.objects.count() == 0


def test_admin_import_skip_bad_rows_confirm(admin_client, thg_c, products):
    content = f.csv_bytes(f"sku,upc\nMUG-BLUE,{UPC_A}\nNOPE,{UPC_B}\n")

    preview = post_upload(admin_client, thg_c, content, skip_bad_rows=True)
    response = confirm(admin_client, preview)

    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.SUCCEEDED
    assert (job.created, job.rejected) == (1, 1)
    assert job.row_errors[0]["line"] == 3
    assert IdentifierMapping.objects.count() == 1
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == [
        "2 rows read for THG C: 1 identifier mapping was written (1 created, "
        "0 updated), 0 unchanged, 1 rejected."
    ]


def test_admin_import_xlsx(admin_client, thg_c, products):
    content = f.xlsx_bytes([["sku", "upc"], ["MUG-BLUE", int(UPC_A)]])

    preview = post_upload(admin_client, thg_c, content, name="m.xlsx")
    confirm(admin_client, preview)

    assert IdentifierMapping.objects.get().channel_identifier == "0" + UPC_A


def test_admin_import_unreadable_file(admin_client, thg_c):
    response = post_upload(admin_client, thg_c, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")

    assert "confirm_form" not in response.context
    assert b"Excel 97-2003 workbook" in response.content


def large_file(count: int) -> bytes:
    Product.objects.bulk_create(
        [Product(sku=f"SKU-{index:05d}", name="x") for index in range(count)]
    )
    rows = "".join(
        f"SKU-{index:05d},{f.upc(f'50000{index:07d}')}\n" for index in range(count)
    )
    return f.csv_bytes("sku,upc\n" + rows)


def test_admin_large_import_runs_as_job(
    admin_client, thg_c, django_capture_on_commit_callbacks
):
    content = large_file(2500)

    with django_capture_on_commit_callbacks(execute=True):
        response = post_upload(admin_client, thg_c, content, name="big.csv")

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:catalog_importjob_change", args=[job.pk])
    assert job.status == ImportJob.Status.CHECKED
    assert (job.total_rows, job.created) == (2500, 2500)
    assert IdentifierMapping.objects.count() == 0

    page = admin_client.get(response.url)
    assert b"Confirm import" in page.content

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = admin_client.post(
            reverse("admin:catalog_importjob_confirm", args=[job.pk])
        )

    job.refresh_from_db()
    assert confirmed.status_code == 302
    assert job.status == ImportJob.Status.SUCCEEDED
    assert job.processed_rows == 2500
    assert job.content == b""
    assert IdentifierMapping.objects.count() == 2500


def test_large_import_page_while_pending(
    admin_client, thg_c, django_capture_on_commit_callbacks
):
    content = large_file(2100)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_upload(admin_client, thg_c, content, name="big.csv")
    page = admin_client.get(response.url)

    assert len(callbacks) == 1
    assert ImportJob.objects.get().status == ImportJob.Status.PENDING
    assert b'<meta http-equiv="refresh" content="2">' in page.content
    assert b"Confirm import" not in page.content


def test_job_confirm_refused_for_viewer(viewer_client, thg_c):
    job = ImportJob.objects.create(
        connector=thg_c,
        file_name="m.csv",
        content=b"sku,upc\n",
        status=ImportJob.Status.CHECKED,
    )

    response = viewer_client.post(
        reverse("admin:catalog_importjob_confirm", args=[job.pk])
    )

    job.refresh_from_db()
    assert response.status_code == 403
    assert job.status == ImportJob.Status.CHECKED


def export(client, connector, file_format="0"):
    return client.post(
        EXPORT_URL, {"resource": "0", "connector": connector.pk, "format": file_format}
    )


def test_export_writes_import_format(admin_client, thg_c, products):
    IdentifierMapping.objects.create(
        connector=thg_c, channel_identifier="0" + UPC_A, product=products[0]
    )

    response = export(admin_client, thg_c)

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(
        'attachment; filename="upc-mappings-thg-c-'
    )
    assert response.content.decode("utf-8-sig").splitlines() == [
        "sku,upc",
        f"MUG-BLUE,{UPC_A}",
    ]


def test_export_edit_import_round_trip(admin_client, thg_c, products):
    IdentifierMapping.objects.create(
        connector=thg_c, channel_identifier="0" + UPC_A, product=products[0]
    )
    exported = export(admin_client, thg_c).content.decode("utf-8-sig")

    edited = exported.replace("MUG-BLUE", "MUG-RED") + f"MUG-BLUE,{UPC_B}\r\n"
    preview = post_upload(admin_client, thg_c, edited.encode("utf-8-sig"))
    confirm(admin_client, preview)

    assert sorted(
        IdentifierMapping.objects.values_list("channel_identifier", "product__sku")
    ) == [("0" + UPC_A, "MUG-RED"), ("0" + UPC_B, "MUG-BLUE")]


def test_export_xlsx_keeps_leading_zeros(admin_client, products):
    thg_b = f.connector(name="THG B", strategy="B")
    zero_upc = "0" + f.upc("01234567890")  # a UPC-A starting with 0
    ChannelListing.objects.create(
        connector=thg_b, product=products[0], channel_sku=zero_upc.zfill(14)
    )

    response = export(admin_client, thg_b, file_format="1")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    ChannelListing.objects.all().delete()
    preview = post_upload(admin_client, thg_b, response.content, name="m.xlsx")
    confirm(admin_client, preview)

    assert rows == [["sku", "upc"], ["MUG-BLUE", zero_upc.zfill(13)]]
    assert ChannelListing.objects.get().channel_sku == zero_upc.zfill(14)


def test_export_strategy_a_connector_shows_error(admin_client):
    thg_a = f.connector(name="THG A", strategy="A")

    response = export(admin_client, thg_a)

    assert response.status_code == 200
    messages = [str(m) for m in response.wsgi_request._messages]
    assert len(messages) == 1
    assert "uses strategy A" in messages[0]


def test_job_page_lists_rejected_rows(admin_client, thg_c, products):
    from catalog.import_jobs import run_now

    job = run_now(
        thg_c, f.csv_bytes(f"sku,upc\nMUG-BLUE,{UPC_A}\nNOPE,{UPC_B}\n"), "m.csv"
    )

    response = admin_client.get(
        reverse("admin:catalog_importjob_change", args=[job.pk])
    )

    content = response.content.decode()
    assert job.status == ImportJob.Status.INVALID
    assert response.status_code == 200
    assert "Rejected: nothing written" in content
    assert "<td>3</td>" in content
    assert "No product has the SKU &#x27;NOPE&#x27;" in content
    assert IdentifierMapping.objects.count() == 0


def test_job_changelist_shows_counts(admin_client, thg_c, products):
    from catalog.import_jobs import run_now

    run_now(thg_c, f.csv_bytes(f"sku,upc\nMUG-BLUE,{UPC_A}\n"), "m.csv")

    response = admin_client.get(reverse("admin:catalog_importjob_changelist"))

    assert response.status_code == 200
    assert b"m.csv" in response.content
    assert b'<td class="field-progress">1 row</td>' in response.content
