"""Docker's own grammar for the names a command may carry: image references, object IDs, container and
volume names.

Every reference a user types is checked here before it can reach an Engine API path. The Engine API cleans a
path holding `..` with a redirect (and would act on whatever the cleaned path names), so a reference that is
not in Docker's own form is refused at parse time: image references follow distribution/reference (lowercase
path components joined by single `/`, no `.` or `..` component, no `%`, no empty component), IDs are
hexadecimal, container and volume names are `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "CONTAINER_NAME",
    "VOLUME_NAME",
    "ParsedReference",
    "familiar_name",
    "image_reference_problem",
    "is_image_id",
    "parse_normalized_named",
]

# moby daemon/names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+` (kept a little stricter in length); volumes alike.
CONTAINER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$", re.ASCII)
VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$", re.ASCII)
_IMAGE_ID = re.compile(r"^(?:sha256:)?[a-f0-9]{1,64}$", re.ASCII)
MAX_REFERENCE = 512


_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = _ALNUM + r"(?:" + _SEPARATOR + _ALNUM + r")*"
_REMOTE_NAME = _PATH_COMPONENT + r"(?:/" + _PATH_COMPONENT + r")*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = r"(?:" + _DOMAIN_COMPONENT + r"(?:\." + _DOMAIN_COMPONENT + r")*|\[(?:[a-fA-F0-9:]+)\])"
_DOMAIN = _HOST + r"(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}"
_REFERENCE = re.compile(
    r"^((?:" + _DOMAIN + r"/)?" + _REMOTE_NAME + r")(?::(" + _TAG + r"))?(?:@(" + _DIGEST + r"))?$", re.ASCII
)
_NAME = re.compile(r"^(?:(" + _DOMAIN + r")/)?(" + _REMOTE_NAME + r")$", re.ASCII)
_IDENTIFIER = re.compile(r"^[a-f0-9]{64}$")
_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_DEFAULT_DOMAIN = "docker.io"
_OFFICIAL_PREFIX = "library/"


@dataclass(frozen=True, slots=True)
class ParsedReference:
    """A normalized image reference: domain, path, and the tag and digest when present ("" otherwise)."""

    domain: str
    path: str
    tag: str = ""
    digest: str = ""


def _split_docker_domain(name: str) -> tuple[str, str]:
    maybe_domain, slash, maybe_remote = name.partition("/")
    if not slash:
        return _DEFAULT_DOMAIN, _OFFICIAL_PREFIX + name
    if maybe_domain == "index.docker.io":
        domain, remote = _DEFAULT_DOMAIN, maybe_remote
    elif (
        maybe_domain == "localhost"
        or any(c in maybe_domain for c in ".:")
        or maybe_domain.lower() != maybe_domain
    ):
        domain, remote = maybe_domain, maybe_remote
    else:
        domain, remote = _DEFAULT_DOMAIN, name
    if domain == _DEFAULT_DOMAIN and "/" not in remote:
        remote = _OFFICIAL_PREFIX + remote
    return domain, remote


def _valid_digest(digest: str) -> bool:
    algorithm, _, encoded = digest.partition(":")
    length = _DIGEST_LENGTHS.get(algorithm)
    return length is not None and len(encoded) == length and re.fullmatch(r"[a-f0-9]+", encoded) is not None


def parse_normalized_named(ref: str) -> ParsedReference | None:
    """reference.ParseNormalizedNamed: "busybox" -> docker.io/library/busybox; None where Docker errors."""
    if _IDENTIFIER.match(ref):
        return None
    domain, remainder = _split_docker_domain(ref)
    remote = remainder.split(":", 1)[0]
    if remote.lower() != remote:
        return None
    match = _REFERENCE.match(domain + "/" + remainder)
    if match is None:
        return None
    name, tag, digest = match.group(1), match.group(2) or "", match.group(3) or ""
    name_match = _NAME.match(name)
    if name_match is None:  # pragma: no cover - the reference pattern already matched the name
        return None
    path = name_match.group(2)
    if len(path) > 255 or (digest and not _valid_digest(digest)):
        return None
    return ParsedReference(domain=name_match.group(1) or "", path=path, tag=tag, digest=digest)


def familiar_name(ref: ParsedReference) -> str:
    """reference.FamiliarName: drop "docker.io/" and, for one-level official images, "library/"."""
    if ref.domain != _DEFAULT_DOMAIN:
        return f"{ref.domain}/{ref.path}" if ref.domain else ref.path
    if ref.path.startswith(_OFFICIAL_PREFIX) and "/" not in ref.path[len(_OFFICIAL_PREFIX) :]:
        return ref.path[len(_OFFICIAL_PREFIX) :]
    return ref.path


def is_image_id(text: str) -> bool:
    """True for an image ID as Docker takes one: hex, full or a prefix, with or without `sha256:`."""
    return bool(_IMAGE_ID.fullmatch(text))


def image_reference_problem(text: str) -> str | None:
    """Why `text` is not an image reference Docker would accept (None when it is one).

    Accepted: `NAME[:TAG][@DIGEST]` by the distribution grammar (`busybox`, `registry:5000/team/app:1.2`,
    `app@sha256:…`) and image IDs (`sha256:9f…`, `9f86d0…`). The message names the first thing wrong.
    """
    if not text:
        return "empty"
    if len(text) > MAX_REFERENCE:
        return f"longer than {MAX_REFERENCE} characters"
    if is_image_id(text):
        return None
    if not text.isascii() or not text.isprintable():
        return "only ASCII letters, digits and . _ - / : @ are allowed"
    if "%" in text:
        return "'%' is not allowed (no URL encoding)"
    name = text.split("@", 1)[0]
    components = name.split("/")
    if any(part == "" for part in components):
        return "empty path component ('//' or a leading or trailing '/')"
    if any(part in {".", ".."} for part in components):
        return "'.' and '..' are not path components of an image name"
    if parse_normalized_named(text) is None:
        if name.split(":", 1)[0].lower() != name.split(":", 1)[0] or any(
            part.lower() != part for part in components[1:]
        ):
            return "repository name must be lowercase"
        return "not NAME[:TAG][@DIGEST] (distribution reference grammar)"
    return None
