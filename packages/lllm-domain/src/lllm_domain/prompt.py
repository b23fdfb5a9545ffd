"""Prompts: templates with variables, tools, output parsing and the three handler prompts."""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from typing import Any

from attrs import define, evolve, field

from lllm_domain.errors import ParseError, PromptError
from lllm_domain.function import Function, MCPServer
from lllm_domain.message import EMPTY_MAPPING
from lllm_domain.parsing import TAG_ARGUMENTS, TagSpec, parse_tags
from lllm_domain.tool_source import ToolSource

Parser = Callable[..., Any]
"""A parser gets the reply text and the prompt (and an agent call's ``parser_args`` as keywords,
when given); it returns the parsed payload or raises :class:`~lllm_domain.errors.ParseError`."""

DEFAULT_EXCEPTION_PROMPT = (
    "Your previous response could not be used:\n{error_message}\n\n"
    "Please answer again, following the required format exactly."
)
DEFAULT_INTERRUPT_PROMPT = "{call_results}"
DEFAULT_FINAL_INTERRUPT_PROMPT = (
    "{call_results}\n\nYou have used all the tool calls allowed for this task. "
    "Do not call any more tools: please give your final response now."
)

_FORMATTER = string.Formatter()


def template_variables(template: str) -> tuple[str, ...]:
    """The variable names a ``{variable}`` template uses, in order of first use."""
    names: dict[str, None] = {}
    try:
        for _, field_name, _, _ in _FORMATTER.parse(template):
            if field_name is None:
                continue
            base = field_name.split(".", 1)[0].split("[", 1)[0]
            if not base or base.isdigit():
                raise PromptError(
                    f"template uses a positional field {{{field_name}}}; name every variable, "
                    "and double literal braces as {{ and }}"
                )
            if not base.isidentifier():
                raise PromptError(
                    f"template has {{{field_name}...}}, which is not a variable name: if it is "
                    "literal text (JSON, code), double its braces as {{ and }}"
                )
            names[base] = None
    except ValueError as exc:
        raise PromptError(
            f"template is malformed ({exc}); double literal braces as {{{{ and }}}}"
        ) from exc
    return tuple(names)


def default_parser(text: str, prompt: Prompt) -> Any:
    """Parse by the prompt's tags, or as JSON when the prompt has a structured ``format``."""
    if prompt.format is not None:
        return _parse_structured(text, prompt)
    if not prompt.tag_spec.is_empty:
        return parse_tags(text, prompt.tag_spec)
    return {"raw": text}


def _parse_structured(text: str, prompt: Prompt) -> Any:
    import json

    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ParseError(
            f"The response must be a single JSON object matching the schema; it is not valid "
            f"JSON ({exc})."
        ) from exc
    fmt = prompt.format
    validate = getattr(fmt, "model_validate", None)
    if isinstance(fmt, type) and callable(validate):
        # A pydantic model (duck-typed: the domain does not import pydantic).
        try:
            return validate(data)
        except Exception as exc:
            raise ParseError(
                f"The JSON does not match the required schema for {fmt.__name__}: {exc}"
            ) from exc
    if isinstance(fmt, type) and hasattr(fmt, "__attrs_attrs__"):
        from lllm_domain.serialization import structure

        try:
            return structure(data, fmt)
        except Exception as exc:
            raise ParseError(
                f"The JSON does not match the required schema for {fmt.__name__}: {exc}"
            ) from exc
    return data


@define(frozen=True, slots=True)
class Prompt:
    """A prompt template and everything needed to call the model with it.

    ``path`` is its registry key. ``template`` uses ``{variable}`` fields (double literal braces).
    ``functions`` are the tools it offers; each must be linked to code before the prompt is
    rendered; ``tool_sources`` add tools listed at call time (MCP servers). ``format`` requests
    structured output: an attrs class, a JSON schema mapping, or a
    class with ``model_json_schema()`` / ``model_validate()`` such as a pydantic model (the
    parsed payload is then an instance of that class).
    The XML/Markdown/signal tags drive :func:`default_parser`: as in the original LLLM every tag
    in ``xml_tags`` / ``md_tags`` is required unless also listed in ``optional_xml_tags`` /
    ``optional_md_tags``; ``required_*`` tags are required too (see
    :class:`~lllm_domain.parsing.TagSpec`). Each tag argument takes a tuple of names; a bare
    string (``("answer")``, the missing comma) is refused when the prompt is built.
    """

    path: str
    template: str
    functions: tuple[Function, ...] = ()
    mcp_servers: tuple[MCPServer, ...] = ()
    parser: Parser | None = field(default=None, eq=False, repr=False)
    format: Any = None
    xml_tags: tuple[str, ...] = ()
    md_tags: tuple[str, ...] = ()
    signal_tags: tuple[str, ...] = ()
    required_xml_tags: tuple[str, ...] = ()
    required_md_tags: tuple[str, ...] = ()
    optional_xml_tags: tuple[str, ...] = ()
    optional_md_tags: tuple[str, ...] = ()
    exception_prompt: str = DEFAULT_EXCEPTION_PROMPT
    interrupt_prompt: str = DEFAULT_INTERRUPT_PROMPT
    interrupt_final_prompt: str = DEFAULT_FINAL_INTERRUPT_PROMPT
    allow_web_search: bool = False
    computer_use_config: Mapping[str, Any] | None = None
    description: str = ""
    tool_sources: tuple[ToolSource, ...] = field(default=(), eq=False, repr=False)
    """Where the prompt draws more tools from (e.g. MCP servers through
    ``lllm_adapters.mcp.MCPClient.sources``): asked at the start of every agent call and offered
    with ``functions``, namespaced when names clash (see :mod:`lllm_domain.tool_source`)."""
    variables: tuple[str, ...] = field(init=False, eq=False, repr=False)
    tag_spec: TagSpec = field(init=False, eq=False, repr=False)
    _handlers: dict[str, Prompt] = field(init=False, eq=False, repr=False, factory=dict)
    """Derived handler prompts, built once (the agent call asks for them every tool turn)."""

    def __attrs_post_init__(self) -> None:
        if not self.path:
            raise PromptError("a prompt needs a non-empty path (its registry key)")
        where = f"prompt {self.path!r}"
        try:
            object.__setattr__(self, "variables", template_variables(self.template))
            for name, text, needed in (
                ("exception_prompt", self.exception_prompt, "error_message"),
                ("interrupt_prompt", self.interrupt_prompt, "call_results"),
                ("interrupt_final_prompt", self.interrupt_final_prompt, "call_results"),
            ):
                if needed not in template_variables(text):
                    raise PromptError(f"{name} must contain {{{needed}}}")
        except PromptError as exc:
            raise PromptError(f"{where}: {exc}") from None
        names = [f.name for f in self.functions]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise PromptError(f"{where}: functions {dupes} are declared twice")
        try:
            spec = TagSpec(**{name: getattr(self, name) for name in TAG_ARGUMENTS})
        except PromptError as exc:
            raise PromptError(f"{where}: {exc}") from None
        for name in TAG_ARGUMENTS:  # keep the checked tuples (lists from ported code, too)
            object.__setattr__(self, name, getattr(spec, name))
        object.__setattr__(self, "tag_spec", spec)

    @property
    def tag_spec_is_empty(self) -> bool:
        """Whether the default parser has no tags to look for."""
        return self.tag_spec.is_empty

    def render(self, args: Mapping[str, Any] = EMPTY_MAPPING, /, **kwargs: Any) -> str:
        """Fill the template. A missing variable or an unlinked function is a clear error."""
        values = {**args, **kwargs} if kwargs else args
        missing = [v for v in self.variables if v not in values]
        if missing:
            raise PromptError(self._missing_message(missing, values))
        unlinked = [f.name for f in self.functions if not f.linked]
        if unlinked:
            raise PromptError(
                f"prompt {self.path!r} offers function(s) {', '.join(map(repr, unlinked))} that "
                "are not linked to code; call prompt.link_function(name, callable) first"
            )
        try:
            return self.template.format_map(values)
        except (AttributeError, IndexError, KeyError, ValueError) as exc:
            raise PromptError(f"prompt {self.path!r} could not be rendered: {exc!r}") from exc

    def _missing_message(self, missing: list[str], values: Mapping[str, Any]) -> str:
        import difflib

        message = (
            f"prompt {self.path!r} is missing variable(s) {', '.join(map(repr, missing))}; "
            f"pass them as args (the template uses: {', '.join(self.variables)})"
        )
        unused = [k for k in values if k not in self.variables]
        if unused:
            message += f"; got unused arg(s) {', '.join(map(repr, unused))}"
            hints = []
            for name in missing:
                close = difflib.get_close_matches(name, unused, n=1, cutoff=0.5)
                if not close:
                    close = [k for k in unused if k.lower() == name.lower()]
                if close:
                    hints.append(f"{close[0]!r} for {name!r}")
            if hints:
                message += f" (did you mean {', '.join(hints)}?)"
        return message

    def parse(self, text: str, **parser_args: Any) -> Any:
        """Parse a reply with this prompt's parser (the default parser unless one is set);
        ``parser_args`` (an agent call's) are passed to a custom parser as keywords."""
        if self.parser is None:
            if parser_args:
                raise PromptError(
                    f"prompt {self.path!r}: parser_args {sorted(parser_args)} were given but the "
                    "prompt uses the default parser, which takes none; give the prompt a "
                    "parser(text, prompt, **parser_args)"
                )
            return default_parser(text, self)
        return self.parser(text, self, **parser_args)

    # -- functions ---------------------------------------------------------------------------

    def function(self, name: str) -> Function | None:
        """The function called ``name``, if offered."""
        for f in self.functions:
            if f.name == name:
                return f
        return None

    def link_function(self, name: str, fn: Callable[..., Any]) -> Prompt:
        """A copy whose function ``name`` is linked to ``fn``."""
        if self.function(name) is None:
            known = ", ".join(f.name for f in self.functions) or "none"
            raise PromptError(
                f"prompt {self.path!r} has no function {name!r} to link (it declares: {known})"
            )
        return evolve(
            self,
            functions=tuple(f.link(fn) if f.name == name else f for f in self.functions),
        )

    def with_functions(self, *functions: Function) -> Prompt:
        """A copy that also offers ``functions``."""
        return evolve(self, functions=(*self.functions, *functions))

    def replace(self, **changes: Any) -> Prompt:
        """A copy with ``changes`` applied."""
        return evolve(self, **changes)

    # -- handler prompts ---------------------------------------------------------------------

    def _handler(self, suffix: str, template: str) -> Prompt:
        handler = self._handlers.get(suffix)
        if handler is None:
            handler = evolve(
                self,
                path=f"{self.path}::{suffix}",
                template=template,
                description=f"{suffix} handler of {self.path}",
            )
            self._handlers[suffix] = handler
        return handler

    @property
    def exception_handler(self) -> Prompt:
        """Asks the model to fix a reply that failed to parse (variable ``error_message``)."""
        return self._handler("exception", self.exception_prompt)

    @property
    def interrupt_handler(self) -> Prompt:
        """Feeds tool results back to the model (variable ``call_results``)."""
        return self._handler("interrupt", self.interrupt_prompt)

    @property
    def final_interrupt_handler(self) -> Prompt:
        """Feeds the last allowed tool results back and asks for the final response."""
        return self._handler("final_interrupt", self.interrupt_final_prompt)

    @property
    def root_path(self) -> str:
        """The path of the prompt this one derives from (itself when it is not a handler)."""
        return self.path.split("::", 1)[0]


def literal_prompt(path: str, text: str) -> Prompt:
    """A prompt whose template is ``text`` taken literally (braces are not variables)."""
    return Prompt(path, text.replace("{", "{{").replace("}", "}}"))
