"""Class definitions: create, rename, recolour, set prompts, archive, list with counts.

Class ids are stable (1..254, never reused) because masks store them as pixel values; colours are
unique because the mask editor maps brush colours back to ids. Names are stored NFKC-normalised and
compared by ``domain.names.name_key`` (normalised case-fold); names a reader cannot see or tell apart
(invisible, format or bidi characters, mixed Latin/Greek/Cyrillic) and digit-only names are refused,
so a digit string always means a class id, in every command.
"""
from __future__ import annotations

import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..domain.errors import DuplicateError, NotFoundError, ValidationError
from ..domain.names import name_key, name_problem, normalize_name
from ..domain.records import MAX_CLASS_ID, ClassDef
from ..storage.repositories import ClassRepo
from .context import AppContext
from .imageio import voc_color

_COLOR_RE = re.compile(r"^#?([0-9a-fA-F]{6})$")
RESERVED_NAMES = frozenset({"background", "ignore", "void"})
MAX_NAME_LEN = 64


@dataclass(frozen=True)
class ClassSummary:
    """A class with how many images are tagged with it and how many current masks contain it."""

    cls: ClassDef
    image_count: int
    mask_count: int


def clean_name(name: str) -> str:
    """NFKC-normalised, trimmed class name; ValidationError when empty, too long, reserved, digit-only,
    or holding characters a reader cannot see or tell apart (see ``domain.names.name_problem``)."""
    cleaned = normalize_name(name)
    if not cleaned:
        raise ValidationError("a class name cannot be empty")
    if len(cleaned) > MAX_NAME_LEN:
        raise ValidationError(f"class name {cleaned[:20]!r}... is longer than {MAX_NAME_LEN} characters")
    problem = name_problem(cleaned)
    if problem:
        raise ValidationError(f"class name {cleaned!r} {problem}")
    if name_key(cleaned) in RESERVED_NAMES:
        raise ValidationError(f"class name {cleaned!r} is reserved (0 = background, 255 = ignore)")
    return cleaned


def clean_color(color: str) -> str:
    """"#rrggbb" in lower case; black is reserved for background."""
    m = _COLOR_RE.match((color or "").strip())
    if not m:
        raise ValidationError(f"colour {color!r} is not of the form #rrggbb")
    value = "#" + m.group(1).lower()
    if value == "#000000":
        raise ValidationError("colour #000000 is reserved for background")
    return value


def _clean_prompts(prompts: Sequence[str]) -> tuple[str, ...]:
    return tuple(p.strip() for p in prompts if p and p.strip())


def next_free_color(repo: ClassRepo, start: int = 1) -> str:
    """First VOC colour-map entry (from ``start``) not used by any class."""
    for i in list(range(start, 255)) + list(range(1, start)):
        color = voc_color(i)
        if repo.color_owner(color) is None:
            return color
    raise ValidationError("no free class colour left")


def _check_unique(repo: ClassRepo, name: str, color: str | None, self_id: int | None = None) -> None:
    other = repo.get_by_name(name)
    if other is not None and other.id != self_id:
        raise DuplicateError(f"a class named {other.name!r} already exists (id {other.id})")
    if color is not None:
        owner = repo.color_owner(color)
        if owner is not None and owner.id != self_id:
            raise DuplicateError(f"colour {color} is already used by class {owner.name!r}")


def add_class(repo: ClassRepo, name: str, color: str | None = None, prompts: Sequence[str] = (),
              class_id: int | None = None) -> ClassDef:
    """Create a class inside an open unit of work (used by dataset import too).

    ``class_id``: a specific unused id in 1..254 (a dataset import keeping its category ids); default
    the next id after the largest one.
    """
    name = clean_name(name)
    next_id = repo.next_id()  # also serialises class creation on PostgreSQL
    if class_id is not None:
        if not 1 <= class_id <= MAX_CLASS_ID or repo.get(class_id) is not None:
            raise ValidationError(f"cannot create {name!r} with id {class_id}: not a free class id in "
                                  f"1..{MAX_CLASS_ID}")
    new_id = class_id if class_id is not None else next_id
    if new_id > MAX_CLASS_ID:
        raise ValidationError(f"cannot create {name!r}: the store already has {MAX_CLASS_ID} classes")
    color = clean_color(color) if color else next_free_color(repo, new_id)
    _check_unique(repo, name, color)
    return repo.add(new_id, name, color, _clean_prompts(prompts) or (name,))


def create_class(ctx: AppContext, name: str, color: str | None = None, prompts: Sequence[str] = ()) -> ClassDef:
    """New class with the next stable id; colour defaults to a free VOC colour, prompts to the name."""
    with ctx.unit_of_work(write=True) as s:
        return add_class(ClassRepo(s), name, color, prompts)


def lookup_class(repo: ClassRepo, ref: int | str) -> ClassDef | None:
    """A class by id (an int or a digit string: class names are never digit-only) or by name
    (normalised, case-insensitive); None when there is none."""
    if isinstance(ref, numbers.Integral) or (isinstance(ref, str) and ref.strip().isdigit()):
        return repo.get(int(ref))
    return repo.get_by_name(str(ref))


def find_class(repo: ClassRepo, ref: int | str) -> ClassDef:
    """``lookup_class``, NotFoundError when there is no such class."""
    found = lookup_class(repo, ref)
    if found is None:
        raise NotFoundError(f"no class {ref!r}")
    return found


def get_class(ctx: AppContext, ref: int | str) -> ClassDef:
    with ctx.unit_of_work() as s:
        return find_class(ClassRepo(s), ref)


def rename_class(ctx: AppContext, ref: int | str, new_name: str) -> ClassDef:
    with ctx.unit_of_work(write=True) as s:
        repo = ClassRepo(s)
        cls = find_class(repo, ref)
        name = clean_name(new_name)
        _check_unique(repo, name, None, self_id=cls.id)
        return repo.update(cls.id, name=name)


def recolour_class(ctx: AppContext, ref: int | str, color: str) -> ClassDef:
    with ctx.unit_of_work(write=True) as s:
        repo = ClassRepo(s)
        cls = find_class(repo, ref)
        value = clean_color(color)
        _check_unique(repo, cls.name, value, self_id=cls.id)
        return repo.update(cls.id, color=value)


def set_prompts(ctx: AppContext, ref: int | str, prompts: Sequence[str]) -> ClassDef:
    """Replace the CLIP text prompts of a class (empty -> the class name)."""
    with ctx.unit_of_work(write=True) as s:
        repo = ClassRepo(s)
        cls = find_class(repo, ref)
        return repo.update(cls.id, prompts=_clean_prompts(prompts) or (cls.name,))


def archive_class(ctx: AppContext, ref: int | str, archived: bool = True) -> ClassDef:
    """Hide a class from new work (tags, training); its id, masks and history stay."""
    with ctx.unit_of_work(write=True) as s:
        repo = ClassRepo(s)
        return repo.update(find_class(repo, ref).id, archived=archived)


def list_classes(ctx: AppContext, include_archived: bool = True) -> list[ClassDef]:
    with ctx.unit_of_work() as s:
        return ClassRepo(s).list(include_archived)


def class_overview(ctx: AppContext, include_archived: bool = True) -> list[ClassSummary]:
    """Every class with its tagged-image count and the number of current masks containing it."""
    with ctx.unit_of_work() as s:
        repo = ClassRepo(s)
        images, masks = repo.image_counts(), repo.mask_counts()
        return [ClassSummary(c, images.get(c.id, 0), masks.get(c.id, 0)) for c in repo.list(include_archived)]
