"""PDF reports: the buyer credit report, the monthly portfolio risk report and the annual
credit-protection health check (`services` requests and generates, `selectors` gathers the
figures, `documents` renders them)."""
