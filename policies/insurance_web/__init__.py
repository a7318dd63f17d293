"""Insurance pages under /policies/: policies and cover, the deadline calendar, overdue
notifications and declarations. One module per area; `urls` joins them under the `insurance`
namespace."""
