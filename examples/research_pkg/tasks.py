"""Task types shared by the research workers."""

from typing import List

from pydantic import Field

from planai import Task


class ResearchQuestion(Task):
    question: str
    max_queries: int = 3


class QueryPlan(Task):
    """What the planner asks the LLM for."""

    queries: List[str] = Field(description="search queries, most specific first")


class SearchQuery(Task):
    query: str
    rank: int


class Finding(Task):
    query: str
    source: str
    snippet: str


class ResearchReport(Task):
    question: str
    summary: str
    sources: List[str]
