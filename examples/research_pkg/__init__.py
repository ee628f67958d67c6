"""A small multi-module PlanAI package: a research assistant that plans search queries,
"searches" an in-memory corpus and writes a cited summary.

Run from the examples/ directory:  python -m research_pkg.graph [--mock]
"""

from .tasks import Finding, ResearchQuestion, ResearchReport, SearchQuery

__all__ = ["Finding", "ResearchQuestion", "ResearchReport", "SearchQuery"]
