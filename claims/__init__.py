"""Claims under trade credit insurance policies: filing, eligibility, indemnity, workflow."""
