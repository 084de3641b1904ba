"""The rights template: one YAML file (`profiles/rights/*.yaml`) for photos, video and sound.

A strict pydantic model: an unknown key, a PLUS release code that does not exist or a Digital
Source Type outside the IPTC vocabulary is an error naming the file, the line and the field.
Text fields may use variables (`{filename}`, `{date}`, `{year}`, `{camera}`, `{seq}`,
`{project}`, `{client}`, and any name declared under `variables:`), expanded per file.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import string
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.errors import ProfileError
from pipeline.provenance import DIGITAL_SOURCE_TYPES, dst_code  # one IPTC vocabulary

REPO = Path(__file__).resolve().parents[2]
TEMPLATES_DIR = REPO / "profiles" / "rights"

PLUS_VOCAB = "http://ns.useplus.org/ldf/vocab/"
MODEL_RELEASE_CODES = ("MR-NON", "MR-NAP", "MR-UMR", "MR-LMR")
PROPERTY_RELEASE_CODES = ("PR-NON", "PR-NAP", "PR-UPR", "PR-LPR")
# What each PLUS code means, for people reading a report.
RELEASE_MEANING = {
    "MR-NON": "none",
    "MR-NAP": "not applicable",
    "MR-UMR": "unlimited model releases",
    "MR-LMR": "limited or incomplete model releases",
    "PR-NON": "none",
    "PR-NAP": "not applicable",
    "PR-UPR": "unlimited property releases",
    "PR-LPR": "limited or incomplete property releases",
}


# Variables every template may use; their values come from the file and the batch.
BUILTIN_VARIABLES = ("filename", "basename", "ext", "date", "year", "camera", "seq")


def plus_code(value: str | None) -> str | None:
    """'http://ns.useplus.org/ldf/vocab/MR-NON' or 'MR-NON' -> 'MR-NON'."""
    if value is None:
        return None
    code = value.strip()
    # Exactly one vocabulary prefix: a doubled one (a writer bug) must not read as valid.
    return code[len(PLUS_VOCAB) :] if code.startswith(PLUS_VOCAB) else code


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactInfo(_Strict):
    """IPTC Creator's Contact Info (Iptc4xmpCore:CreatorContactInfo)."""

    address: str | None = None
    city: str | None = None
    postcode: str | None = None
    region: str | None = None
    country: str | None = None
    email: str | None = None
    phone: str | None = None
    url: str | None = None


class Licensor(_Strict):
    """A PLUS Licensor: who grants the licence and how to reach them."""

    name: str
    email: str | None = None
    url: str | None = None
    phone: str | None = None


class RightsTemplate(_Strict):
    """Who made a work, who owns it and how it may be used; one template for every format."""

    name: str | None = None
    creator: list[str] = Field(default_factory=list)
    job_title: str | None = None
    copyright_notice: str | None = None
    credit_line: str | None = None
    source: str | None = None
    usage_terms: str | None = None
    web_statement: str | None = None
    contact: ContactInfo | None = None
    licensors: list[Licensor] = Field(default_factory=list)
    model_release: str | None = None
    property_release: str | None = None
    digital_source_type: str | None = None
    keywords: list[str] = Field(default_factory=list)
    title: str | None = None
    headline: str | None = None
    description: str | None = None
    # IPTC 2025.1 AI fields: not known to older ExifTool builds (reported, never faked).
    ai_system_used: str | None = None
    ai_prompt: str | None = None
    variables: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _caption_is_description(cls, data: Any) -> Any:
        # IPTC "Description" is the field photographers call the caption (Caption-Abstract).
        if isinstance(data, dict) and "caption" in data:
            data = dict(data)
            caption = data.pop("caption")
            if data.get("description") not in (None, caption):
                raise ValueError(
                    "caption and description are the same IPTC field (Description / "
                    "Caption-Abstract); give only one"
                )
            data["description"] = caption
        return data

    @field_validator("creator", "keywords", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [v]
        return v

    @field_validator("model_release")
    @classmethod
    def _mr(cls, v: str | None) -> str | None:
        code = plus_code(v)
        if code is not None and code not in MODEL_RELEASE_CODES:
            raise ValueError(
                f"{v!r} is not a PLUS model release code; use one of "
                + ", ".join(MODEL_RELEASE_CODES)
            )
        return code

    @field_validator("property_release")
    @classmethod
    def _pr(cls, v: str | None) -> str | None:
        code = plus_code(v)
        if code is not None and code not in PROPERTY_RELEASE_CODES:
            raise ValueError(
                f"{v!r} is not a PLUS property release code; use one of "
                + ", ".join(PROPERTY_RELEASE_CODES)
            )
        return code

    @field_validator("digital_source_type")
    @classmethod
    def _dst(cls, v: str | None) -> str | None:
        code = dst_code(v)
        if code is not None and code not in DIGITAL_SOURCE_TYPES:
            raise ValueError(
                f"{v!r} is not an IPTC Digital Source Type; use one of "
                + ", ".join(DIGITAL_SOURCE_TYPES[:16])
            )
        return code

    @field_validator("web_statement")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^[a-z][a-z0-9+.-]*://\S+$", v, re.IGNORECASE):
            raise ValueError(f"{v!r} is not a URL (https://...)")
        return v

    @model_validator(mode="after")
    def _known_variables(self) -> RightsTemplate:
        known = set(BUILTIN_VARIABLES) | set(self.variables)
        for fld, text in self.text_fields().items():
            for name in variables_in(text, fld):
                if name not in known:
                    raise ValueError(
                        f"field {fld} uses the unknown variable {{{name}}}; known: "
                        + ", ".join("{" + k + "}" for k in sorted(known))
                        + " (declare it under variables:)"
                    )
        return self

    def text_fields(self) -> dict[str, str]:
        """Every text value of the template by field path ('contact.city', 'keywords[2]')."""
        out: dict[str, str] = {}
        for fld in (
            "job_title copyright_notice credit_line source usage_terms web_statement title "
            "headline description ai_system_used ai_prompt"
        ).split():
            value = getattr(self, fld)
            if value is not None:
                out[fld] = value
        for i, c in enumerate(self.creator):
            out[f"creator[{i}]"] = c
        for i, k in enumerate(self.keywords):
            out[f"keywords[{i}]"] = k
        if self.contact:
            for k, v in self.contact.model_dump(exclude_none=True).items():
                out[f"contact.{k}"] = v
        for i, lic in enumerate(self.licensors):
            for k, v in lic.model_dump(exclude_none=True).items():
                out[f"licensors[{i}].{k}"] = v
        return out


def variables_in(text: str, where: str = "") -> list[str]:
    """Names of the `{variables}` used in a text (raises ValueError on a broken brace)."""
    try:
        return [name for _, name, _, _ in string.Formatter().parse(text) if name]
    except ValueError as exc:
        raise ValueError(f"field {where}: {exc} (write {{{{ or }}}} for a literal brace)") from exc


# -- loading ---------------------------------------------------------------------------------


def _node_at(node: yaml.Node | None, loc: tuple[Any, ...]) -> yaml.Node | None:
    """Follow a pydantic error location through the YAML node tree (for the line number)."""
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if k.value == str(key):
                    nxt = v if not isinstance(key, int) else v
                    break
            if nxt is None:
                # The key itself is the problem (an unknown key): point at the key.
                for k, _v in node.value:
                    if k.value == str(key):
                        return k
                return node
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            if key >= len(node.value):
                return node
            node = node.value[key]
        else:
            return node
    return node


def _key_node(node: yaml.Node | None, loc: tuple[Any, ...]) -> yaml.Node | None:
    parent = _node_at(node, loc[:-1]) if loc else node
    if isinstance(parent, yaml.MappingNode) and loc:
        for k, _v in parent.value:
            if k.value == str(loc[-1]):
                return k
    return _node_at(node, loc)


def template_dirs() -> list[Path]:
    """Where named templates are found, first wins: the user's folders ($RUSHLINE_RIGHTS,
    os.pathsep-separated, else ~/.config/rushline/rights), then the bundled ones."""
    env = os.environ.get("RUSHLINE_RIGHTS")
    user = [Path(d) for d in env.split(os.pathsep) if d] if env else []
    if not env:
        user = [Path.home() / ".config" / "rushline" / "rights"]
    shared = Path(sys.prefix) / "share" / "rushline" / "profiles" / "rights"
    return [*user, TEMPLATES_DIR, shared]


def resolve_template_path(name_or_path: str | Path) -> Path:
    """A template given by path, or by name ('example') from the user's or the bundled folder."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists() or "/" in str(name_or_path):
        return p
    for folder in template_dirs():
        cand = folder / f"{name_or_path}.yaml"
        if cand.is_file():
            return cand
    return TEMPLATES_DIR / f"{name_or_path}.yaml"


def load_template(
    name_or_path: str | Path, *, variables: dict[str, str] | None = None
) -> RightsTemplate:
    """Load and validate a rights template; every problem names the file, line and field.

    `variables` (e.g. from `--var client=ACME`) override or add to the template's own.
    """
    path = resolve_template_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        known = ", ".join(sorted({p.stem for d in template_dirs() for p in d.glob("*.yaml")}))
        raise ProfileError(
            f"rights template {path} does not exist",
            path=path,
            hint=f"give a path to a .yaml file or one of: {known}",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read rights template {path}: {exc}", path=path) from None
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ProfileError(
            f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})",
            path=path,
            hint="fix the syntax (indentation, quotes around values with ':' or '{')",
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: a rights template must be a mapping of fields", path=path)
    if variables:
        data = dict(data)
        data["variables"] = {**(data.get("variables") or {}), **variables}
    try:
        return RightsTemplate.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        node = _key_node(root, loc) if err["type"] == "extra_forbidden" else _node_at(root, loc)
        line = f" line {node.start_mark.line + 1}" if node is not None and loc else ""
        fld = ".".join(str(p) for p in loc) or "(template)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (a typo?)"
        more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
        raise ProfileError(f"{path}{line}, field {fld}: {msg}{more}", path=path) from None


# -- expansion -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileContext:
    """What the variables of one file expand to."""

    path: Path
    seq: int = 1
    captured: _dt.datetime | None = None
    camera: str | None = None

    def values(self, template: RightsTemplate) -> dict[str, Any]:
        when = self.captured or _dt.datetime.fromtimestamp(_mtime(self.path))
        return {
            **template.variables,
            "filename": self.path.name,
            "basename": self.path.stem,
            "ext": self.path.suffix.lstrip("."),
            "date": when.strftime("%Y-%m-%d"),
            "year": when.strftime("%Y"),
            "camera": self.camera or "",
            "seq": self.seq,
        }


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return _dt.datetime.now().timestamp()


def uses_file_metadata(template: RightsTemplate) -> bool:
    """True when expanding needs the capture date or camera read from the file itself."""
    names = {n for f, t in template.text_fields().items() for n in variables_in(t, f)}
    return bool(names & {"date", "year", "camera"})


def expand(template: RightsTemplate, ctx: FileContext) -> RightsTemplate:
    """The template with every variable replaced by this file's values."""
    values = ctx.values(template)

    def sub(text: str | None) -> str | None:
        if text is None:
            return None
        return text.format_map(values)

    data = template.model_dump()
    for key in (
        "job_title copyright_notice credit_line source usage_terms web_statement title "
        "headline description ai_system_used ai_prompt"
    ).split():
        data[key] = sub(data[key])
    data["creator"] = [sub(c) for c in data["creator"]]
    data["keywords"] = [sub(k) for k in data["keywords"]]
    if data["contact"]:
        data["contact"] = {k: sub(v) for k, v in data["contact"].items()}
    data["licensors"] = [{k: sub(v) for k, v in lic.items()} for lic in data["licensors"]]
    return RightsTemplate.model_validate(data)


def pattern_of(text: str, values: dict[str, Any], unknown: set[str]) -> re.Pattern[str]:
    """A regex matching `text` expanded with `values`; `unknown` variables match anything.

    Used by `check`: the sequence number a file got at apply time cannot be known later.
    """
    parts: list[str] = []
    for literal, name, spec, conv in string.Formatter().parse(text):
        parts.append(re.escape(literal))
        if name is None:
            continue
        if name in unknown or name not in values:
            parts.append(r"\d+" if name == "seq" else ".*")
        else:
            fmt = "{0" + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
            parts.append(re.escape(fmt.format(values[name])))
    return re.compile("".join(parts), re.DOTALL)
