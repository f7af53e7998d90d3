"""GitHub: the gateway Protocol, its PyGithub implementation and the step executors."""
