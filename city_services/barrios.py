"""The 48 barrios of the City and the spellings the datasets use for them."""
from typing import Dict, Optional

from city_services.text import fix_mojibake, fold

BARRIOS = (
    "Agronomía", "Almagro", "Balvanera", "Barracas", "Belgrano", "Boedo",
    "Caballito", "Chacarita", "Coghlan", "Colegiales", "Constitución", "Flores",
    "Floresta", "La Boca", "La Paternal", "Liniers", "Mataderos", "Monserrat",
    "Monte Castro", "Nueva Pompeya", "Núñez", "Palermo", "Parque Avellaneda",
    "Parque Chacabuco", "Parque Chas", "Parque Patricios", "Puerto Madero",
    "Recoleta", "Retiro", "Saavedra", "San Cristóbal", "San Nicolás", "San Telmo",
    "Vélez Sársfield", "Versalles", "Villa Crespo", "Villa del Parque",
    "Villa Devoto", "Villa General Mitre", "Villa Lugano", "Villa Luro",
    "Villa Ortúzar", "Villa Pueyrredón", "Villa Real", "Villa Riachuelo",
    "Villa Santa Rita", "Villa Soldati", "Villa Urquiza",
)

# Spellings found in the datasets (folded) and common short names.
_ALIASES = {
    "BOCA": "La Boca",
    "PATERNAL": "La Paternal",
    "POMPEYA": "Nueva Pompeya",
    "LUGANO": "Villa Lugano",
    "VILLA GRAL MITRE": "Villa General Mitre",
    "VILLA GRAL": "Villa General Mitre",
    "VILLA OTUZAR": "Villa Ortúzar",  # typo in puntos-verdes.csv
    "MONTSERRAT": "Monserrat",
    "SOLDATI": "Villa Soldati",
    "URQUIZA": "Villa Urquiza",
    "DEVOTO": "Villa Devoto",
    "CRESPO": "Villa Crespo",
    "MICROCENTRO": "San Nicolás",
    "CENTRO": "San Nicolás",
}

_BY_KEY: Dict[str, str] = {fold(name): name for name in BARRIOS}
_BY_KEY.update(_ALIASES)


def canonical_barrio(name: Optional[str]) -> Optional[str]:
    """Official name of a barrio from any dataset spelling, or None."""
    if not name:
        return None
    return _BY_KEY.get(fold(fix_mojibake(name)))
