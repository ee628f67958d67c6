"""A plain PlanAI pipeline without LLMs: split documents into sentences, fan out to two
analysers (word statistics and keyword spotting), and collect everything in sinks.

    Document --Splitter--+--Sentence----> WordCounter ---> SentenceStats --StatsAggregator--> DocumentReport (sink)
                         +--ScanRequest-> KeywordSpotter --> KeywordHit (sink)

A worker may have several downstream workers, but each published type must have exactly one
consumer, so the fan-out uses one task type per branch.

Run it with:  python examples/text_pipeline.py
"""

import re
from typing import List, Type

from planai import Graph, InitialTaskWorker, JoinedTaskWorker, Task, TaskWorker

KEYWORDS = {"graph", "worker", "task", "pipeline"}


class Document(Task):
    doc_id: str
    text: str


class Sentence(Task):
    doc_id: str
    index: int
    text: str


class ScanRequest(Task):
    doc_id: str
    index: int
    text: str


class SentenceStats(Task):
    doc_id: str
    index: int
    words: int
    characters: int


class KeywordHit(Task):
    doc_id: str
    index: int
    keyword: str


class DocumentReport(Task):
    doc_id: str
    sentences: int
    words: int
    longest_sentence: int


class Splitter(TaskWorker):
    """Splits a document into sentences and sends each one down both branches."""

    output_types: List[Type[Task]] = [Sentence, ScanRequest]

    def consume_work(self, task: Document):
        parts = [p.strip() for p in re.split(r"(?<=[.!?])\s+", task.text) if p.strip()]
        for index, part in enumerate(parts):
            self.publish_work(Sentence(doc_id=task.doc_id, index=index, text=part), input_task=task)
            self.publish_work(ScanRequest(doc_id=task.doc_id, index=index, text=part), input_task=task)


class WordCounter(TaskWorker):
    output_types: List[Type[Task]] = [SentenceStats]

    def consume_work(self, task: Sentence):
        words = len(task.text.split())
        stats = SentenceStats(doc_id=task.doc_id, index=task.index, words=words, characters=len(task.text))
        self.publish_work(stats, input_task=task)


class KeywordSpotter(TaskWorker):
    output_types: List[Type[Task]] = [KeywordHit]

    def consume_work(self, task: ScanRequest):
        found = {w.strip(".,!?").lower() for w in task.text.split()} & KEYWORDS
        for keyword in sorted(found):
            self.publish_work(KeywordHit(doc_id=task.doc_id, index=task.index, keyword=keyword), input_task=task)


class StatsAggregator(JoinedTaskWorker):
    """Waits for every sentence of one initial document, then writes a report."""

    output_types: List[Type[Task]] = [DocumentReport]
    join_type: Type[TaskWorker] = InitialTaskWorker

    def consume_work_joined(self, tasks: List[SentenceStats]):
        report = DocumentReport(
            doc_id=tasks[0].doc_id,
            sentences=len(tasks),
            words=sum(t.words for t in tasks),
            longest_sentence=max(t.words for t in tasks),
        )
        self.publish_work(report, input_task=tasks[0])


def build_graph() -> tuple[Graph, Splitter]:
    graph = Graph(name="text-pipeline")
    splitter = Splitter()
    counter = WordCounter()
    spotter = KeywordSpotter()
    aggregator = StatsAggregator()
    graph.add_workers(splitter, counter, spotter, aggregator)
    graph.set_dependency(splitter, counter).next(aggregator)
    graph.set_dependency(splitter, spotter)
    graph.set_sink(aggregator, DocumentReport)
    graph.set_sink(spotter, KeywordHit)
    return graph, splitter


def main() -> None:
    documents = [
        Document(doc_id="intro", text="A graph connects workers. Each worker consumes one task type! Done."),
        Document(doc_id="notes", text="Pipelines fan out. The sink collects results for the caller."),
    ]
    graph, entry = build_graph()
    graph.run(initial_tasks=[(entry, doc) for doc in documents], display_terminal=False)

    outputs = graph.get_output_tasks()
    for report in sorted((t for t in outputs if isinstance(t, DocumentReport)), key=lambda t: t.doc_id):
        print(f"{report.doc_id}: {report.sentences} sentences, {report.words} words, "
              f"longest {report.longest_sentence} words")
    hits = sorted((t.doc_id, t.index, t.keyword) for t in outputs if isinstance(t, KeywordHit))
    print(f"keyword hits: {hits}")


if __name__ == "__main__":
    main()
