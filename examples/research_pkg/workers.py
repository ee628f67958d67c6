"""Workers of the research pipeline; Task types come from the sibling module."""

from textwrap import dedent
from typing import Dict, List, Optional, Type

from planai import InitialTaskWorker, JoinedTaskWorker, LLMTaskWorker, Task, TaskWorker

from .tasks import Finding, QueryPlan, ResearchQuestion, ResearchReport, SearchQuery

# A stand-in for a search engine so that the example runs offline.
CORPUS: Dict[str, str] = {
    "docs/graphs.md": "A PlanAI graph connects TaskWorkers; each worker consumes exactly one Task type.",
    "docs/llm.md": "LLMTaskWorker sends the input task and the prompt to an LLM and publishes its answer.",
    "docs/joins.md": "JoinedTaskWorker collects all results that share a provenance prefix.",
}


class QueryPlanner(LLMTaskWorker):
    output_types: List[Type[Task]] = [SearchQuery]
    llm_input_type: Type[Task] = ResearchQuestion
    llm_output_type: Type[Task] = QueryPlan
    prompt: str = dedent(
        """
        Plan up to {max_queries} short keyword queries that would find documents
        answering the research question.
        """
    ).strip()

    def format_prompt(self, task: ResearchQuestion) -> str:
        return self.prompt.format(max_queries=task.max_queries)

    def post_process(self, response: Optional[QueryPlan], input_task: ResearchQuestion):
        if response is None:
            return
        for rank, query in enumerate(response.queries[: input_task.max_queries]):
            self.publish_work(SearchQuery(query=query, rank=rank), input_task=input_task)


class CorpusSearcher(TaskWorker):
    output_types: List[Type[Task]] = [Finding]
    max_hits: int = 2

    def consume_work(self, task: SearchQuery):
        words = {w.lower() for w in task.query.split()}
        scored = sorted(
            ((sum(w in text.lower() for w in words), source, text) for source, text in CORPUS.items()),
            reverse=True,
        )
        for score, source, text in scored[: self.max_hits]:
            if score > 0:
                self.publish_work(Finding(query=task.query, source=source, snippet=text), input_task=task)


class ReportWriter(JoinedTaskWorker):
    output_types: List[Type[Task]] = [ResearchReport]
    join_type: Type[TaskWorker] = InitialTaskWorker

    def consume_work_joined(self, tasks: List[Finding]):
        question = tasks[0].find_input_task(ResearchQuestion)
        sources = sorted({t.source for t in tasks})
        snippets = {t.source: t.snippet for t in tasks}
        summary = " ".join(snippets[s] for s in sources)
        report = ResearchReport(question=question.question if question else "", summary=summary, sources=sources)
        self.publish_work(report, input_task=tasks[0])
