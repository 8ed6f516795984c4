"""The columns of an import file, and the template file that lists them with their codes."""

import csv
import io
from dataclasses import dataclass
from typing import Any

from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_stubs_ext import StrOrPromise
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from cases.models import AgeUnknown, AmountBand, Answer, Gender, PlatformRole, Risk, Status, Vocabulary
from cases.selectors import terms_offered_to

SEPARATOR = ";"
ANSWERS = ", ".join(Answer.values)


@dataclass(frozen=True)
class Column:
    name: str
    help: StrOrPromise
    required: bool = False
    vocabulary: str = ""  # codes from the taxonomy (cases.Term) of this vocabulary
    choices: tuple[tuple[str, StrOrPromise], ...] = ()  # or from a fixed list
    many: bool = False  # several codes, separated by SEPARATOR
    example: str = ""
    default: str = ""  # stored when the cell is empty


def _choices(choices: list[tuple[str, Any]]) -> tuple[tuple[str, StrOrPromise], ...]:
    return tuple((value, label) for value, label in choices)


YES_NO: tuple[tuple[str, StrOrPromise], ...] = (("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No")))
PLATFORM_COLUMNS = {f"platforms_{role}": role for role in PlatformRole.values}


def _answer(name: str, *, example: str) -> Column:
    """A yes / no / unknown outcome fact, unknown when left empty."""
    return Column(
        name,
        format_lazy(gettext_lazy("{answers} (empty: unknown)."), answers=ANSWERS),
        choices=_choices(Answer.choices),
        default="unknown",
        example=example,
    )


COLUMNS: list[Column] = [
    Column(
        "reference",
        gettext_lazy(
            "Optional. The case's reference in the old system, kept if no case of the organisation has it; "
            "empty: a new SX-YYYY-NNNNN reference is given. Letters, digits and - _ . / only, at most 20."
        ),
        example="EXAMPLE-ROW",
    ),
    Column(
        "first_contact_at",
        gettext_lazy(
            "Required. When the victim or reporter first made contact: YYYY-MM-DD HH:MM (or YYYY-MM-DD), local time."
        ),
        True,
        example="2021-03-14 18:30",
    ),
    Column(
        "status",
        gettext_lazy("Required. The status of the case."),
        True,
        choices=_choices(Status.choices),
        example="closed",
    ),
    Column(
        "closure_reason",
        gettext_lazy("Required when the status is closed, empty otherwise."),
        vocabulary=Vocabulary.CLOSURE_REASON,
        example="resolved",
    ),
    Column(
        "closed_at",
        gettext_lazy(
            "Required when the status is closed, empty otherwise: YYYY-MM-DD HH:MM (or YYYY-MM-DD), local time."
        ),
        example="2021-04-02 10:00",
    ),
    Column("risk_level", gettext_lazy("Required."), True, choices=_choices(Risk.choices), example="high"),
    Column(
        "self_harm",
        gettext_lazy("Self-harm or suicidal thoughts: yes or no (empty: no)."),
        choices=YES_NO,
        example="no",
    ),
    Column("immediate_danger", gettext_lazy("Immediate danger: yes or no (empty: no)."), choices=YES_NO, example="no"),
    Column("channel", gettext_lazy("How the contact came in."), vocabulary=Vocabulary.CHANNEL, example="chat"),
    Column(
        "reporter_type",
        gettext_lazy("Who contacted the helpline."),
        vocabulary=Vocabulary.REPORTER_TYPE,
        example="victim",
    ),
    Column(
        "victim_age",
        gettext_lazy("Age in whole years, 0 to 120; leave empty when victim_age_unknown is given."),
        example="15",
    ),
    Column(
        "victim_age_unknown",
        gettext_lazy("When the age is not known: minor or adult."),
        choices=_choices(AgeUnknown.choices),
    ),
    Column("victim_gender", gettext_lazy("Gender."), choices=_choices(Gender.choices), example="male"),
    Column("victim_country", gettext_lazy("ISO 3166-1 alpha-2 country code."), example="IT"),
    Column("victim_region", gettext_lazy("ISO 3166-2 region code, in the victim's country."), example="IT-RM"),
    Column(
        "sextortion_type",
        gettext_lazy("Type of sextortion."),
        vocabulary=Vocabulary.SEXTORTION_TYPE,
        example="financial",
    ),
    Column(
        "platforms_first_contact",
        gettext_lazy("Platforms of first contact."),
        vocabulary=Vocabulary.PLATFORM,
        many=True,
        example="instagram",
    ),
    Column(
        "platforms_content_obtained",
        gettext_lazy("Platforms where the content was obtained."),
        vocabulary=Vocabulary.PLATFORM,
        many=True,
    ),
    Column(
        "platforms_threats",
        gettext_lazy("Platforms where threats were made."),
        vocabulary=Vocabulary.PLATFORM,
        many=True,
    ),
    Column(
        "platforms_moved_to",
        gettext_lazy("Platforms the offender moved the victim to."),
        vocabulary=Vocabulary.PLATFORM,
        many=True,
        example="snapchat",
    ),
    Column(
        "approaches",
        gettext_lazy("Offender's approach."),
        vocabulary=Vocabulary.APPROACH,
        many=True,
        example="flattery;fake_romance",
    ),
    Column(
        "content_types",
        gettext_lazy("Content obtained."),
        vocabulary=Vocabulary.CONTENT_TYPE,
        many=True,
        example="self_image",
    ),
    Column("demands", gettext_lazy("Demands."), vocabulary=Vocabulary.DEMAND, many=True, example="money"),
    Column("threats", gettext_lazy("Threats."), vocabulary=Vocabulary.THREAT, many=True, example="family;friends"),
    _answer("victim_complied", example="no"),
    _answer("victim_paid", example="yes"),
    Column("amount_band", gettext_lazy("Amount paid."), choices=_choices(AmountBand.choices), example="50_249"),
    Column(
        "payment_method", gettext_lazy("How it was paid."), vocabulary=Vocabulary.PAYMENT_METHOD, example="gift_card"
    ),
    _answer("content_distributed", example="no"),
    _answer("extorted_again", example="unknown"),
    Column("offender_count", gettext_lazy("Number of offenders, a whole number."), example="1"),
    Column("offender_country", gettext_lazy("Suspected country of the offender, ISO 3166-1 alpha-2."), example="NG"),
    _answer("offender_known_offline", example="no"),
    _answer("organised_network_suspected", example="yes"),
    Column(
        "incident_description",
        gettext_lazy(
            "What happened, in a few neutral sentences; at most 20,000 characters. Never the victim's name, contact "
            "details, birth date or address: phone numbers, e-mail addresses, links and handles are detected."
        ),
        example="Contacted on Instagram by a stranger who asked for images, then demanded money.",
    ),
]
BY_NAME = {column.name: column for column in COLUMNS}
REQUIRED = [column.name for column in COLUMNS if column.required]

TEMPLATE_NAME = "case-import-template"
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def codes_of(column: Column, organisation_id: int) -> list[tuple[str, StrOrPromise]]:
    """The valid codes of a column, taxonomy terms as the case form offers them to the organisation."""
    if column.vocabulary:
        return list(
            terms_offered_to(organisation_id, column.vocabulary)
            .order_by("position", "label")
            .values_list("code", "label")
        )
    return list(column.choices)


def _codes_text(column: Column, organisation_id: int) -> str:
    codes = codes_of(column, organisation_id)
    if not codes:
        return ""
    text = ", ".join(code for code, _label in codes)
    return (
        _("%(codes)s (several: separated by %(separator)s)") % {"codes": text, "separator": SEPARATOR}
        if column.many
        else text
    )


def template_csv() -> bytes:
    """The header and one example row; the codes are in the XLSX template's second sheet and on the page."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([column.name for column in COLUMNS])
    writer.writerow([column.example for column in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode()  # with a BOM, so that spreadsheets read it as UTF-8


def template_xlsx(organisation_id: int) -> bytes:
    """A "Cases" sheet to fill in (header and one example row) and a "Codes" sheet documenting every column,
    with the codes of the organisation's taxonomies."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Cases"
    sheet.append([column.name for column in COLUMNS])
    sheet.append([column.example for column in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, column in enumerate(COLUMNS, start=1):
        sheet.cell(row=1, column=index).number_format = "@"
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = max(14, len(column.name) + 2)
    sheet.freeze_panes = "A2"
    codes = book.create_sheet("Codes")
    codes.append([_("Column"), _("Required"), _("What to write"), _("Valid codes")])
    for cell in codes[1]:
        cell.font = Font(bold=True)
    for column in COLUMNS:
        codes.append(
            [column.name, _("yes") if column.required else "", str(column.help), _codes_text(column, organisation_id)]
        )
    codes.append([])
    codes.append([_("Code"), _("Meaning")])
    for column in COLUMNS:
        for code, label in codes_of(column, organisation_id):
            codes.append([f"{column.name}: {code}", str(label)])
    codes.column_dimensions["A"].width = 32
    codes.column_dimensions["B"].width = 10
    codes.column_dimensions["C"].width = 70
    codes.column_dimensions["D"].width = 70
    for row in codes.iter_rows(min_col=3, max_col=4):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def documentation(organisation_id: int) -> list[dict[str, object]]:
    """Every column with its help and the organisation's codes, for the page that explains the template."""
    return [
        {
            "name": column.name,
            "required": column.required,
            "help": column.help,
            "codes": codes_of(column, organisation_id),
            "many": column.many,
        }
        for column in COLUMNS
    ]
