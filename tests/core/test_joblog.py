"""The job log: traceback in the log file, the one-line cause last on the console."""

import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from readalike.core.joblog import one_line


@pytest.mark.parametrize(
    ("err", "line"),
    [
        pytest.param(
            ValueError("f.h5: article 2, sentence 3: bad"),
            "f.h5: article 2, sentence 3: bad",
            id="value-error-alone",
        ),
        pytest.param(KeyError("layer"), "KeyError: 'layer'", id="other-type-named"),
        pytest.param(ValueError("first\nsecond"), "first", id="first-line-only"),
        pytest.param(RuntimeError(""), "RuntimeError", id="empty-message"),
        pytest.param(ValueError(), "ValueError", id="empty-value-error"),
        pytest.param(
            OSError(28, "No space left on device"),
            "OSError: [Errno 28] No space left on device",
            id="os-error",
        ),
        pytest.param(
            ValueError(f"x: bad layer {int(np.int64(-50))}"), "x: bad layer -50", id="plain-int"
        ),
    ],
)
def test_one_line(err, line):
    assert one_line(err) == line


def _run_script(tmp_path, body):
    script = tmp_path / "job.py"
    script.write_text(
        "import sys\nfrom readalike.core.joblog import send_to_log\n"
        f"send_to_log(sys.argv[1])\n{textwrap.dedent(body)}",
        encoding="utf-8",
    )
    log = tmp_path / "job.log"
    done = subprocess.run(
        [sys.executable, str(script), str(log)], capture_output=True, text=True, timeout=60
    )
    return done, log.read_text(encoding="utf-8")


def test_failing_job_prints_the_cause_last_and_keeps_the_traceback_in_the_log(tmp_path):
    done, log = _run_script(
        tmp_path,
        """
        import logging, warnings
        logging.getLogger("readalike.x").info("working")
        warnings.warn("careful")
        print("said on stderr", file=sys.stderr)
        def load():
            raise ValueError("file x: article 2, sentence 3: bad")
        load()
        """,
    )
    assert done.returncode == 1
    assert done.stderr == "file x: article 2, sentence 3: bad\n"
    assert "Traceback (most recent call last)" in log
    assert "in load" in log
    assert log.rstrip().endswith("ValueError: file x: article 2, sentence 3: bad")
    for said in ("working", "careful", "said on stderr"):
        assert said in log


def test_successful_job_says_nothing_on_the_console(tmp_path):
    done, log = _run_script(tmp_path, "print('done', file=sys.stderr)\n")
    assert (done.returncode, done.stderr) == (0, "")
    assert log == "done\n"


def test_other_exceptions_are_named(tmp_path):
    done, log = _run_script(tmp_path, "{}['layer']\n")
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == "KeyError: 'layer'"
    assert "Traceback" in log


def test_snakemake_console_shows_the_cause(tmp_path):
    """Snakemake 9 passes a ``script:`` job's stderr to its console, before its own error."""
    snakemake = shutil.which("snakemake") or pytest.skip("snakemake not installed")
    (tmp_path / "Snakefile").write_text(
        textwrap.dedent(
            """
            rule bad:
                output:
                    "out.txt",
                log:
                    "logs/bad.log",
                script:
                    "bad.py"
            """
        ),
        encoding="utf-8",
    )
    (tmp_path / "bad.py").write_text(
        "from readalike.core.joblog import send_to_log\n"
        "send_to_log(snakemake.log[0])\n"
        "raise ValueError('file x: article 2, sentence 3: bad')\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [snakemake, "--cores", "1", "--nocolor"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    console = (done.stdout + done.stderr).splitlines()
    assert done.returncode != 0
    assert "file x: article 2, sentence 3: bad" in console
    # the job's own last line comes right before Snakemake's report of the failure
    cause = console.index("file x: article 2, sentence 3: bad")
    assert console[cause + 1].startswith("RuleException")
    assert "Traceback" not in "\n".join(console)  # the traceback stayed in the log
    log = (tmp_path / "logs" / "bad.log").read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in log
    assert not (tmp_path / "out.txt").exists()
