"""The evidence report's further sections, in the order the page shows them: an explicit list.

A part that adds a section writes a `SectionProvider` (environment, repository root → a `SectionTable`, or
None when it has nothing to show) and names it here.
"""

from __future__ import annotations

from jamaa.drift.section import drift_section
from jamaa.drill.results import drill_section
from jamaa.report.model import SectionProvider

SECTIONS: tuple[SectionProvider, ...] = (drill_section, drift_section)
