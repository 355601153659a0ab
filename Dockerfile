# graphdex: the indexer daemon (`graphdex run configs/movies.yaml`), also usable for any graphdex command.
# Built from the repository root (see docker-compose.yml); .dockerignore keeps local state out.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY schema_gen ./schema_gen
COPY indexer ./indexer
COPY cli ./cli
COPY demo ./demo
RUN pip install .
COPY configs ./configs

RUN useradd --system --uid 10001 --home-dir /app graphdex
USER graphdex

CMD ["graphdex", "run", "configs/movies.yaml"]
