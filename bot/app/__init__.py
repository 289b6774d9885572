"""The application layer: the operations people and the service's loops perform.

Callers (the CLI, the staff web app, the loops, the demo) use only this package. Each operation
takes who is acting (`Actor`), checks they may (`access`), runs one unit of work (`unit.run`:
one transaction, `now` from the injected clock), records an audit entry and returns plain
frozen values (`views`). Domain rules stay in bot.service, escalation and the pure cores; this
layer orchestrates and guards. Refusals are `errors.AppError`: one line a person can act on.
"""
