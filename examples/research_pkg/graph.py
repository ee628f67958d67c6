"""Graph construction for the research package.

    python -m research_pkg.graph          # local Ollama llama3
    python -m research_pkg.graph --mock   # offline, planai.testing.MockLLM
"""

import argparse
import os
from typing import Tuple

from planai import Graph, LLMInterface, LLMTaskWorker, llm_from_config

from .tasks import QueryPlan, ResearchQuestion, ResearchReport
from .workers import CorpusSearcher, QueryPlanner, ReportWriter


def build_graph(llm: LLMInterface) -> Tuple[Graph, QueryPlanner]:
    """Builds the graph; returns it together with its entry worker."""
    graph = Graph(name="research")
    planner = QueryPlanner(llm=llm)
    searcher = CorpusSearcher(max_hits=1)
    writer = ReportWriter()
    graph.add_workers(planner, searcher, writer)
    graph.set_dependency(planner, searcher).next(writer)
    graph.set_sink(writer, ResearchReport)
    graph.set_max_parallel_tasks(LLMTaskWorker, 1)
    return graph, planner


def offline_llm() -> LLMInterface:
    from planai.testing import MockLLM, MockLLMResponse

    plan = QueryPlan(queries=["graph worker task", "llm prompt answer", "join provenance"])
    return MockLLM(responses=[MockLLMResponse(pattern=r"Plan up to \d+", response=plan)])


def main() -> None:
    parser = argparse.ArgumentParser(description="PlanAI research assistant example")
    parser.add_argument("--mock", action="store_true", help="use planai.testing.MockLLM (offline)")
    parser.add_argument("question", nargs="?", default="How does PlanAI route work between workers?")
    args = parser.parse_args()

    use_mock = args.mock or os.environ.get("PLANAI_EXAMPLE_MOCK", "") not in ("", "0")
    llm = offline_llm() if use_mock else llm_from_config(provider="ollama", model_name="llama3")

    graph, entry = build_graph(llm)
    graph.run(initial_tasks=[(entry, ResearchQuestion(question=args.question))], display_terminal=False)
    for report in graph.get_output_tasks():
        print(f"Q: {report.question}")
        print(f"A: {report.summary}")
        print(f"Sources: {', '.join(report.sources)}")


if __name__ == "__main__":
    main()
