"""`lllm prompts list`: the prompts discovery found in the project."""

from __future__ import annotations

from lllm_cli.commands.options import ProjectOption


def list_prompts(*, project: ProjectOption = None) -> int:
    """List the project's registered prompts: path, variables, tools, tags and origin."""
    from lllm_cli.project import open_project

    opened = open_project(project)
    if not len(opened.prompts):
        print(
            f"No prompts found; add Prompt objects to the [prompts] folders of {opened.config_file}"
        )
        return 0
    for path, prompt in opened.prompts.items():
        facts = []
        if prompt.variables:
            facts.append("variables: " + ", ".join(prompt.variables))
        if prompt.functions:
            facts.append("tools: " + ", ".join(f.name for f in prompt.functions))
        spec = prompt.tag_spec
        required = set(spec.mandatory_xml_tags) | set(spec.mandatory_md_tags)
        tags = [
            *(f"<{t}>" for t in spec.collected_xml_tags),
            *(f"```{t}" for t in spec.collected_md_tags),
        ]
        if tags:
            facts.append("tags: " + ", ".join(tags))
        if required:
            facts.append("required: " + ", ".join(sorted(required)))
        if prompt.signal_tags:
            facts.append("signals: " + ", ".join(f"<{t}>" for t in prompt.signal_tags))
        if prompt.format is not None:
            name = getattr(prompt.format, "__name__", "JSON schema")
            facts.append(f"format: {name}")
        origin = opened.prompt_origins.get(path) or opened.prompts.origin(path) or ""
        print(path)
        if facts:
            print("    " + " · ".join(facts))
        if origin:
            print(f"    from {origin}")
    return 0
