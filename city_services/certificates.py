"""The libre-deuda certificate as a real PDF (fpdf2), rendered on demand.

The certificate row (code, subject, issued_at) is the record; the PDF is a
deterministic rendering of it, so downloads always match verification.
The core PDF fonts are Latin-1 only, which covers Spanish.
"""
import secrets
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Optional

import yaml
from fpdf import FPDF

TEXTS = Path(__file__).resolve().parent / "data" / "texts.yml"
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def new_code() -> str:
    """Unguessable verification code: 'LD-' + 10 characters (~50 bits)."""
    body = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"LD-{body[:5]}-{body[5:]}"


@lru_cache(maxsize=1)
def _texts() -> Dict[str, Any]:
    with open(TEXTS, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["certificate"]


def render_pdf(code: str, issued_at: str, plate: Optional[str], dni: Optional[str]) -> bytes:
    texts = _texts()
    pdf = FPDF(format="A4")
    pdf.set_title(texts["title"])
    pdf.set_creator("city_services")
    pdf.set_creation_date(datetime.fromisoformat(issued_at))  # same record, same bytes
    pdf.set_subject(code)
    # Uncompressed: a few hundred bytes more, and the code stays greppable.
    pdf.set_compression(False)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 10, texts["title"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(0, 6, texts["issuer"], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("Helvetica", "", 12)
    if plate:
        pdf.multi_cell(0, 8, texts["subject_plate"].format(plate=plate), new_x="LMARGIN", new_y="NEXT")
    if dni:
        pdf.multi_cell(0, 8, texts["subject_dni"].format(dni=dni), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.multi_cell(0, 7, texts["statement"], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.multi_cell(0, 7, texts["issued_at"].format(issued_at=issued_at), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Courier", "B", 14)
    pdf.multi_cell(0, 10, texts["code"].format(code=code), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(0, 6, texts["verify"], new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
