"""Validates API answers with the official Arize SDK's generated models.

Usage: sdk_validate.py tasks|runs|spaces|projects|datasets FILE...

Each FILE holds one JSON page of the endpoint KIND names, checked with the
SDK's model of that answer: `GET /v2/tasks` (`tasks`, `ListTasksResponse`),
`GET /v2/tasks/{id}/runs` (`runs`, `ListTaskRunsResponse`), `GET /v2/spaces`
(`spaces`, `ListSpacesResponse`), `GET /v2/projects` (`projects`,
`ListProjectsResponse`), `GET /v2/datasets` (`datasets`,
`ListDatasetsResponse`). Prints one line per page the SDK refuses
(`FILE: reason`) and exits 1 if there was any; exits 2 on bad usage.

Run it under $ARIZE_TEST_TOOLS/bin/arize-sdk-python (scripts/tools/arize-sdk.sh),
which puts the unpacked arize/_generated/ on the path. The `arize` and
`arize._generated` packages (and `api_client`, whose __init__ pulls in the
HTTP client) are registered here as bare namespace modules, so the SDK's own
__init__ with numpy, pandas and pyarrow is never imported: only the pydantic
models are.
"""

import importlib
import os
import sys
import types


def register_namespaces():
    """Registers arize, arize._generated and arize._generated.api_client as
    bare packages (no __init__ run) found in the first sys.path entry that
    holds arize/_generated/api_client."""
    names = ("arize", "arize._generated", "arize._generated.api_client")
    for base in sys.path:
        root = os.path.join(base or ".", *names[-1].split("."))
        if os.path.isdir(os.path.join(root, "models")):
            break
    else:
        sys.exit("sdk_validate: arize/_generated/api_client not on the path (run scripts/tools/arize-sdk.sh)")
    for name in names:
        module = types.ModuleType(name)
        module.__path__ = [os.path.join(base or ".", *name.split("."))]
        sys.modules[name] = module


# KIND -> (module of arize._generated.api_client.models, model class)
MODELS = {
    "tasks": ("list_tasks_response", "ListTasksResponse"),
    "runs": ("list_task_runs_response", "ListTaskRunsResponse"),
    "spaces": ("list_spaces_response", "ListSpacesResponse"),
    "projects": ("list_projects_response", "ListProjectsResponse"),
    "datasets": ("list_datasets_response", "ListDatasetsResponse"),
}


def main(argv):
    if len(argv) < 3 or argv[1] not in MODELS:
        print("usage: sdk_validate.py %s FILE..." % "|".join(MODELS), file=sys.stderr)
        return 2
    register_namespaces()
    module, name = MODELS[argv[1]]
    model = getattr(importlib.import_module("arize._generated.api_client.models." + module), name)
    failures = 0
    for path in argv[2:]:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            page = model.from_json(text)
            if page is None:
                raise ValueError("not a JSON object")
        except Exception as e:  # pydantic's ValidationError, ValueError, JSON errors
            failures += 1
            reason = " ".join(str(e).split())
            print(f"{path}: {type(e).__name__}: {reason}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
