"""The scheduler: rounds open, move to voting and close on their own; reminders go out.

Every deadline and every state lives in the database; each job is an idempotent sweep
over it (``scheduler.sweeps.run_once``), so a restart simply resumes and two processes on
one database send nothing twice. APScheduler only calls the sweep (``scheduler.service``).
"""
