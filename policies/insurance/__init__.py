"""Trade credit insurance rules, pure where they can be: policy terms and which buyers a policy
covers (`terms`), discretionary credit limits (`dcl`), the deadline engine (`deadlines`), the
insured / uninsured / over-cover split of open invoices (`coverage`), premium (`premium`), and the
KPIs read from the daily sweep (`kpis`). Each rule has one owner here; services, the sweep's SQL,
the pages and the API call it.
"""
