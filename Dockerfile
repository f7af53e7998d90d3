# syntax=docker/dockerfile:1
# Build stage: install the locked dependencies and the project into a virtualenv.
FROM python:3.11-slim AS build
WORKDIR /app
RUN python -m venv /venv
COPY requirements.lock pyproject.toml README.md ./
RUN /venv/bin/pip install --no-cache-dir -r requirements.lock
COPY bot ./bot
COPY clients ./clients
COPY cogs ./cogs
COPY provisioning ./provisioning
COPY db ./db
COPY migrations ./migrations
COPY web ./web
COPY sandbox ./sandbox
RUN /venv/bin/pip install --no-cache-dir --no-deps .

# Run stage: only the virtualenv, the migrations and an unprivileged user.
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 app
WORKDIR /app
COPY --from=build /venv /venv
COPY alembic.ini ./
COPY migrations ./migrations
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    APP_ENV=production \
    WEB_HOST=0.0.0.0
USER app
EXPOSE 8080
# Migrate, then replace the shell with the bot so it receives SIGTERM directly.
CMD ["sh", "-c", "alembic upgrade head && exec python -m bot"]
