"""Rights metadata: one template written into every kind of file (or its sidecar), read back.

Public entry points: `load_template`, `apply_rights`, `show_rights`, `check_rights`,
`read_provenance`.
"""

from __future__ import annotations

from pipeline.provenance import Provenance, read_provenance
from pipeline.rights.apply import RightsResult, apply_rights
from pipeline.rights.check import check_rights
from pipeline.rights.show import EffectiveRights, show_rights
from pipeline.rights.template import RightsTemplate, load_template

__all__ = [
    "EffectiveRights",
    "Provenance",
    "RightsResult",
    "RightsTemplate",
    "apply_rights",
    "check_rights",
    "load_template",
    "read_provenance",
    "show_rights",
]
