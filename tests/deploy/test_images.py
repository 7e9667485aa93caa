"""The images, built without Docker: what each build context holds after ``.dockerignore``,
that every ``COPY`` finds its sources there, and that an application's image, laid out as
its Dockerfile says, runs the application's actors with the settings its container gets.

The application is examples/azure-app, the one the Azure Container Apps how-to deploys.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import BIN, ROOT
from tests.deploy.context import Context, environment, lay_out, missing_sources, runs
from tests.deploy.documented import (
    GUIDE,
    commands,
    guide_commands,
    parameter_files,
    parameter_values,
)
from tests.deploy.hosting import environment as host_environment
from tests.deploy.hosting import start_every_app

APP = ROOT / "examples" / "azure-app"
IMAGE = (ROOT / "Dockerfile").read_text()
APP_IMAGE = (APP / "Dockerfile").read_text()


def test_dockerignore_is_read_as_docker_reads_it(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("*\n!keep/\n**/__pycache__\n# a comment\n!*.md\n")
    for name in ("keep/a.py", "keep/__pycache__/a.pyc", "keep/deep/__pycache__/b.pyc", "x.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    (tmp_path / "README.md").write_text("")

    assert Context(tmp_path).files() == ["README.md", "keep/a.py"]


def test_the_beehive_image_finds_every_copy_source_in_its_context() -> None:
    context = Context(ROOT)

    assert missing_sources(context, IMAGE) == []
    assert not any(f.startswith((".venv/", "tests/", "node_modules/")) for f in context.files())
    assert "infra/image/constraints.txt" in context.files()


def test_an_application_image_builds_from_its_own_project() -> None:
    context = Context(APP)

    assert missing_sources(context, APP_IMAGE) == []
    assert context.files() == sorted(
        ["requirements.txt", *(f"shop/{p.name}" for p in (APP / "shop").glob("*.py"))]
    )


def test_the_application_image_adds_to_beehive_s_venv_under_its_pins() -> None:
    (install,) = [line for line in APP_IMAGE.splitlines() if "pip --python" in line]

    assert install.split()[1:4] == ["pip", "--python", "/opt/beehive/bin/python"]
    assert "--constraint /opt/beehive/constraints.txt" in APP_IMAGE
    # beehive's image keeps its constraints where the application's build reads them
    assert "cp infra/image/constraints.txt /opt/beehive/constraints.txt" in IMAGE
    assert APP_IMAGE.rstrip().splitlines()[-1] == "USER 10001"


@pytest.mark.parametrize(
    ("requirements", "builds"),
    [(None, True), ("pydantic==1.10.0\n", False)],
    ids=["the-guide-s", "another-pydantic"],
)
def test_the_application_image_installs_its_requirements_under_beehive_s_pins(
    tmp_path: Path, requirements: str | None, builds: bool
) -> None:
    """The application image's RUN, here, on beehive's venv as beehive's image leaves it (no
    pip, the constraints beside it): the guide's requirements install; one needing another
    version of a dependency of beehive's fails the build rather than change what was tested.
    No index is read: the pins decide before anything is fetched."""
    beehive_venv = tmp_path / "opt" / "beehive"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", beehive_venv], check=True)
    shutil.copyfile(ROOT / "infra/image/constraints.txt", beehive_venv / "constraints.txt")
    lay_out(Context(APP), APP_IMAGE, tmp_path)
    if requirements is not None:
        (tmp_path / "tmp" / "requirements.txt").write_text(requirements)
    (install,) = runs(APP_IMAGE)
    assert install.startswith("pip --python /opt/beehive/bin/python install ")
    here = re.sub(r"(?<=\s)/(opt|tmp)/", f"{tmp_path}/\\1/", install)
    here = here.replace("pip ", f"{sys.executable} -m pip ", 1)
    offline = {"PIP_NO_INDEX": "1", "PIP_CONFIG_FILE": os.devnull, "PIP_FIND_LINKS": ""}

    done = subprocess.run(
        ["sh", "-c", here],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **offline},
    )

    assert (done.returncode == 0) == builds, done.stderr
    assert (tmp_path / "tmp" / "requirements.txt").exists() != builds  # removed once installed
    if not builds:
        assert "The user requested (constraint) pydantic==" in done.stdout + done.stderr
    assert not list(beehive_venv.glob("bin/pip*"))


@pytest.fixture
def image(tmp_path: Path) -> Path:
    """The application image's files, laid out as its Dockerfile copies them."""
    lay_out(Context(APP), APP_IMAGE, tmp_path)
    return tmp_path


def test_the_application_package_reaches_the_image(image: Path) -> None:
    app_dir = image / environment(IMAGE)["BEEHIVE_APP_DIR"].lstrip("/")

    assert sorted(p.name for p in (app_dir / "shop").iterdir()) == sorted(
        p.name for p in (APP / "shop").glob("*.py")
    )
    assert (image / "tmp" / "requirements.txt").exists()


async def test_every_app_the_guide_deploys_starts_from_the_image_layout(
    image: Path, templates: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The guide's step 3 writes the parameters (here, with the image's app directory), its
    step 5 deploys them: each app starts with the settings the templates give it."""
    app_dir = str(image / environment(IMAGE)["BEEHIVE_APP_DIR"].lstrip("/"))
    (_, *arguments) = documented_only("3.", "beehive", "topology")
    deploy = documented_only("5.", "az", "deployment", "group", "create")
    output = arguments.index("--output") + 1
    assert parameter_files(deploy) == [arguments[output]]
    arguments[output] = str(tmp_path_factory.mktemp("deploy") / arguments[output])
    topology = await asyncio.create_subprocess_exec(
        *[str(BIN / "beehive"), *arguments, "--app-dir", app_dir],
        stderr=asyncio.subprocess.PIPE,
        env=host_environment(),
    )
    _, err = await topology.communicate()
    assert topology.returncode == 0, err.decode()
    written = await asyncio.to_thread(Path(arguments[output]).read_text)
    parameters = json.loads(written)["parameters"]

    assert {g["name"]: g["only"] for g in parameters["groups"]["value"]} == {
        "audit": "AuditActor",
        "orders": "ConfirmOrderActor",
    }
    values = parameter_values(deploy)
    assert values["image"].startswith(f"{values['registryName']}.azurecr.io/")
    await start_every_app(templates, parameters, BEEHIVE_APP_DIR=app_dir)


def documented_only(section: str, *start: str) -> list[str]:
    """The one command of the guide's ``section`` that starts with ``start``."""
    (command,) = commands(guide_commands(section), *start)
    return command


SHOWN = re.compile(r'^```\w+ title="(?P<path>[^"]+)"\n(?P<body>.*?)^```$', re.M | re.S)


def test_the_guide_shows_the_example_application_as_it_is() -> None:
    shown = {m["path"]: m["body"] for m in SHOWN.finditer(GUIDE.read_text())}

    assert set(shown) == {
        "Dockerfile",
        ".dockerignore",
        "requirements.txt",
        *(f"shop/{name}" for name in ("events.py", "orders.py", "audit.py", "container.py")),
    }
    for path, body in shown.items():
        assert body == (APP / path).read_text(), f"{GUIDE.name} shows another {path}"


def test_the_build_stage_builds_the_wheel_and_a_venv_without_pip(tmp_path: Path) -> None:
    """The build stage's steps, run here on what its COPYs bring: the wheel builds from the
    filtered context alone with the pinned tools (no isolation, nothing fetched), and the venv
    made --without-pip gets beehive from the outside pip and never a pip of its own."""
    src, wheels, venv = tmp_path / "src", tmp_path / "wheels", tmp_path / "venv"
    lay_out(Context(ROOT), IMAGE.split("\nFROM ${PYTHON_IMAGE}\n", 1)[0], src)

    def run(*argv: str | Path) -> None:
        done = subprocess.run(
            [str(a) for a in argv], cwd=src, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr

    run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", wheels)
    (wheel,) = wheels.glob("*.whl")
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    # --no-deps: the dependencies come from the index in the real build, not here
    run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        venv / "bin" / "python",
        "install",
        "--no-deps",
        "--no-cache-dir",
        "--quiet",
        wheel,
    )

    names = zipfile.ZipFile(wheel).namelist()
    assert "beehive/cli/run.py" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not any(n.startswith(("tests/", "samples/", "infra/")) for n in names)
    assert (venv / "bin" / "beehive").exists()
    assert not list(venv.glob("bin/pip*"))
    assert not list(venv.glob("lib/python*/site-packages/pip"))
