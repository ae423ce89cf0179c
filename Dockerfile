# The pmlkg API (and its loader) for docker-compose, next to a Neo4j 5 server.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ingest ingest
COPY extraction extraction
COPY graph graph
COPY api api
COPY pmlkg pmlkg
COPY nlp_models nlp_models
RUN pip install --no-cache-dir .  # as a user installs it: models, lexicons, schema are package data
ENV PMLKG_DATA_DIR=/data
EXPOSE 8000
# Load the bundled demo corpus (idempotent), then serve on all interfaces *inside* the container;
# docker-compose publishes the port on the host's 127.0.0.1 only.
CMD ["sh", "-c", "pmlkg build && pmlkg serve --host 0.0.0.0 --port 8000"]
