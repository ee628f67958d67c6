"""An LLM code-review pipeline built from LLMTaskWorker subclasses.

    CodeSubmission --IssueFinder (LLM)--> Issue --SeverityRater (LLM)--> RatedIssue
                                                                            |
                          ReviewSummary (sink) <--ReviewCollector (join)----+

* IssueFinder asks the LLM for an IssueList (its llm_output_type), which is not one of its
  output_types: its post_process override fans the list out into one Issue task per finding.
* SeverityRater's llm_output_type is its single output type, so the default post_process
  publishes the LLM's answer as-is; its format_prompt fills placeholders in the prompt.
* ReviewCollector joins on InitialTaskWorker: it gets all RatedIssues of one submission at once.

By default the LLM is a local Ollama llama3 (`llm_from_config`). With `--mock` (or
PLANAI_EXAMPLE_MOCK=1) it uses planai.testing.MockLLM and runs offline:

    python examples/llm_review.py --mock
"""

import argparse
import os
from textwrap import dedent
from typing import List, Literal, Optional, Type

from pydantic import Field

from planai import (
    Graph,
    InitialTaskWorker,
    JoinedTaskWorker,
    LLMInterface,
    LLMTaskWorker,
    Task,
    TaskWorker,
    llm_from_config,
)


class CodeSubmission(Task):
    filename: str
    code: str


class IssueList(Task):
    """What IssueFinder asks the LLM for."""

    issues: List[str] = Field(description="one short sentence per problem found in the code")


class Issue(Task):
    filename: str
    description: str


class RatedIssue(Task):
    description: str
    severity: Literal["low", "medium", "high"]
    suggestion: str = Field(description="how to fix the problem")


class ReviewSummary(Task):
    filename: str
    high: int
    medium: int
    low: int
    findings: List[str]


class IssueFinder(LLMTaskWorker):
    output_types: List[Type[Task]] = [Issue]
    llm_input_type: Type[Task] = CodeSubmission
    llm_output_type: Type[Task] = IssueList
    prompt: str = dedent(
        """
        Review the code in the input data. List every bug, security problem or
        maintainability problem you find, one short sentence each. Return an empty
        list if the code is fine.
        """
    ).strip()

    def post_process(self, response: Optional[IssueList], input_task: CodeSubmission):
        if response is None:
            return
        for description in response.issues:
            self.publish_work(Issue(filename=input_task.filename, description=description), input_task=input_task)


class SeverityRater(LLMTaskWorker):
    output_types: List[Type[Task]] = [RatedIssue]
    llm_input_type: Type[Task] = Issue
    llm_output_type: Type[Task] = RatedIssue
    audience: str = "a team maintaining a production web service"
    prompt: str = dedent(
        """
        Rate the severity of the issue found in {filename} for {audience}.
        Use "high" only for bugs that lose data or open a security hole, and
        suggest a concrete fix.
        """
    ).strip()

    def format_prompt(self, task: Issue) -> str:
        return self.prompt.format(filename=task.filename, audience=self.audience)


class ReviewCollector(JoinedTaskWorker):
    output_types: List[Type[Task]] = [ReviewSummary]
    join_type: Type[TaskWorker] = InitialTaskWorker

    def consume_work_joined(self, tasks: List[RatedIssue]):
        submission = tasks[0].find_input_task(CodeSubmission)
        counts = {level: sum(1 for t in tasks if t.severity == level) for level in ("high", "medium", "low")}
        summary = ReviewSummary(
            filename=submission.filename if submission else "?",
            findings=[f"[{t.severity}] {t.description} -> {t.suggestion}" for t in tasks],
            **counts,
        )
        self.publish_work(summary, input_task=tasks[0])


def mock_llm() -> LLMInterface:
    from planai.testing import MockLLM, MockLLMResponse

    return MockLLM(
        responses=[
            MockLLMResponse(
                pattern=r"Review the code in the input data",
                response=IssueList(
                    issues=[
                        "The SQL query is built with string formatting (SQL injection).",
                        "The function name `f` does not say what it does.",
                    ]
                ),
            ),
            MockLLMResponse(
                pattern=r"SQL injection",
                response=RatedIssue(
                    description="SQL injection", severity="high", suggestion="Use query parameters."
                ),
            ),
            MockLLMResponse(
                pattern=r"Rate the severity",
                response=RatedIssue(
                    description="Unclear name", severity="low", suggestion="Rename it to fetch_user."
                ),
            ),
        ]
    )


def build_graph(llm: LLMInterface) -> tuple[Graph, IssueFinder]:
    graph = Graph(name="llm-review")
    finder = IssueFinder(llm=llm)
    rater = SeverityRater(llm=llm, temperature=0.0)
    collector = ReviewCollector()
    graph.add_workers(finder, rater, collector)
    graph.set_dependency(finder, rater).next(collector).sink(ReviewSummary)
    graph.set_max_parallel_tasks(LLMTaskWorker, 2)
    return graph, finder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mock", action="store_true", help="use planai.testing.MockLLM (offline)")
    args = parser.parse_args()

    use_mock = args.mock or os.environ.get("PLANAI_EXAMPLE_MOCK", "") not in ("", "0")
    llm = mock_llm() if use_mock else llm_from_config(provider="ollama", model_name="llama3")

    submission = CodeSubmission(
        filename="users.py",
        code='def f(db, name):\n    return db.execute(f"SELECT * FROM users WHERE name = \'{name}\'")\n',
    )
    graph, entry = build_graph(llm)
    graph.run(initial_tasks=[(entry, submission)], display_terminal=False)

    for summary in graph.get_output_tasks():
        print(f"{summary.filename}: {summary.high} high, {summary.medium} medium, {summary.low} low")
        for line in summary.findings:
            print(f"  {line}")


if __name__ == "__main__":
    main()
