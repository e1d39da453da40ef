"""Admin forms for importing and exporting UPC-to-SKU mapping files."""

from django import forms
from import_export.forms import ConfirmImportForm, ExportForm, ImportForm

from connectors.models import Connector

CONNECTOR_HELP = (
    "On a connector using strategy B the file fills its products' Channel "
    "SKUs; on strategy C, the connector's mapping table."
)
SKIP_HELP = (
    "Unticked, one rejected row means nothing is written. Ticked, the good "
    "rows are written and the rejected ones are listed."
)


def _connector_field(**kwargs) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(queryset=Connector.objects.order_by("name"), **kwargs)


class MappingImportForm(ImportForm):
    connector = _connector_field(help_text=CONNECTOR_HELP)
    skip_bad_rows = forms.BooleanField(
        label="Skip bad rows", required=False, help_text=SKIP_HELP
    )

    field_order = ["resource", "connector", "import_file", "format", "skip_bad_rows"]

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        self.fields["import_file"].help_text = (
            "Columns sku and upc, in CSV (comma, semicolon or tab), TSV or "
            "XLSX. Format the upc column as text so leading zeros are kept."
        )


class MappingConfirmImportForm(ConfirmImportForm):
    connector = _connector_field(widget=forms.HiddenInput)
    skip_bad_rows = forms.BooleanField(required=False, widget=forms.HiddenInput)


class MappingExportForm(ExportForm):
    connector = _connector_field(
        help_text="The connector whose Channel SKUs (strategy B) or mapping "
        "table (strategy C) to export, for the products in the list."
    )

    field_order = ["resource", "connector", "format"]
