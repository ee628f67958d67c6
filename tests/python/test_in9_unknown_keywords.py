"""IN9's premise, checked against real planai 0.7.1: every call that
tests/fixtures/planai_static/in9_unknown_keyword_arguments.py marks `# expect: IN9` runs without
an error, and the keyword's value is lost (not stored, the field it meant keeps its default);
the unmarked calls keep what they pass.

Run with the rest of tests/python (PLANAI_TEST_PYTHON: a python with planai 0.7.1).
"""

import json
import os
import subprocess
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIXTURE = os.path.join(REPO, "tests", "fixtures", "planai_static", "in9_unknown_keyword_arguments.py")
PLANAI_PY = os.environ.get("PLANAI_TEST_PYTHON")
if not PLANAI_PY:
    raise RuntimeError("set PLANAI_TEST_PYTHON to a python with planai 0.7.1 "
                       "(scripts/ensure-test-venv.sh prints one)")

PROBE = textwrap.dedent("""
    import importlib.util, json, sys
    from planai.testing import MockLLM
    spec = importlib.util.spec_from_file_location("in9", sys.argv[1])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    graph, responder, fine, summariser = module.build(MockLLM(responses=[]))
    first, private, classvar, aliased = module.tasks()
    answer = module.Answer(text="a", tone="loud")
    print(json.dumps({
        "graph_title": getattr(graph, "title", None),
        "graph_name": graph.name,
        "responder_num_retry": getattr(responder, "num_retry", None),
        "responder_num_retries": responder.num_retries,
        "fine_num_retries": fine.num_retries,
        "fine_tone": fine.tone,
        "summariser_temprature": getattr(summariser, "temprature", None),
        "summariser_temperature": summariser.temperature,
        "first_topc": getattr(first, "topc", None),
        "first_topic": first.topic,
        "classvar_kind": classvar.kind,
        "aliased_body": aliased.body,
        "answer_tone": getattr(answer, "tone", None),
        "answer_dump": answer.model_dump(),
    }))
""")


class UnknownKeywordsAreSilentlyDropped(unittest.TestCase):
    def test_fixture_runs_and_loses_every_marked_keyword(self):
        with tempfile.TemporaryDirectory() as scratch:
            # `import planai` writes ./logs: run from a scratch directory.
            result = subprocess.run(
                [PLANAI_PY, "-c", PROBE, FIXTURE],
                cwd=scratch,
                capture_output=True,
                text=True,
                timeout=120,
            )
        self.assertEqual(result.returncode, 0, result.stderr)
        facts = json.loads(result.stdout.strip().splitlines()[-1])
        # Nothing raised above; and each marked keyword's value is gone.
        self.assertIsNone(facts["graph_title"])
        self.assertEqual(facts["graph_name"], "qa")
        self.assertIsNone(facts["responder_num_retry"])
        self.assertEqual(facts["responder_num_retries"], 0)
        self.assertIsNone(facts["summariser_temprature"])
        self.assertIsNone(facts["summariser_temperature"])
        self.assertIsNone(facts["first_topc"])
        self.assertEqual(facts["first_topic"], "general")
        self.assertEqual(facts["classvar_kind"], "question")
        self.assertIsNone(facts["answer_tone"])
        self.assertEqual(facts["answer_dump"], {"text": "a"})
        # The unmarked calls keep what they pass (the check must stay silent on them).
        self.assertEqual(facts["fine_num_retries"], 2)
        self.assertEqual(facts["fine_tone"], "formal")
        self.assertEqual(facts["aliased_body"], "skipped: the keyword may be an alias")


if __name__ == "__main__":
    unittest.main()
