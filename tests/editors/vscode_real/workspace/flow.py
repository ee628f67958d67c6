"""A PlanAI workflow with one wiring mistake, opened by the real-VS-Code suite."""

from typing import List, Type

from planai import Graph, Task, TaskWorker


class Question(Task):
    text: str


class Answer(Task):
    text: str


class Asker(TaskWorker):
    output_types: List[Type[Task]] = [Question]

    def consume_work(self, task: Question):
        self.publish_work(Question(text=task.text), input_task=task)


class Answerer(TaskWorker):
    output_types: List[Type[Task]] = [Answer]

    def consume_work(self, task: Answer):
        self.publish_work(Answer(text=task.text.upper()), input_task=task)


def build() -> Graph:
    graph = Graph(name="qa")
    asker = Asker()
    answerer = Answerer()
    graph.add_workers(asker, answerer)
    graph.set_dependency(asker, answerer)
    graph.set_sink(answerer, Answer)
    graph.set_entry(asker)
    return graph


if __name__ == "__main__":
    qa = build()
    qa.run(initial_tasks=[(qa.get_entry_workers()[0], Question(text="why?"))], display_terminal=False)

