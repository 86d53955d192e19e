"""How deep a posted rule file may nest. PyYAML builds documents recursively, so a few
hundred nested `[` or mappings exhaust Python's stack; real rule files nest about six levels.
The check reads PyYAML's event stream, which is produced without recursion."""

from __future__ import annotations

import yaml

MAX_YAML_DEPTH = 32

_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def yaml_too_deep(text: str, limit: int = MAX_YAML_DEPTH) -> int | None:
    """The line (1-based) where nesting first passes `limit`, else None. Text that is not
    YAML is left for the loader to report."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, _OPEN):
                depth += 1
                if depth > limit:
                    # PyYAML's parser marks every event; the type allows none (line 1 then).
                    mark = event.start_mark
                    return mark.line + 1 if mark is not None else 1
            elif isinstance(event, _CLOSE):
                depth -= 1
    except yaml.YAMLError:
        return None
    return None
