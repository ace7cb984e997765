# Laurel's one image: the API (default), the arq worker and `laurel migrate` differ only by command.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv/laurel

# pyproject lists its packages explicitly, so only these are installed; README.md is
# pyproject's `readme`.
COPY pyproject.toml README.md ./
COPY app ./app
COPY gamification ./gamification
COPY workers ./workers
RUN pip install . \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin laurel

# The client operations are data, not a package, for LAUREL_TRUSTED_DOCUMENTS: the
# installed app sits in site-packages, with no repository around it to find them in.
COPY graphql/operations ./graphql/operations
ENV LAUREL_OPERATIONS_DIR=/srv/laurel/graphql/operations

USER laurel

EXPOSE 8000

# uvicorn trusts X-Forwarded-* only from 127.0.0.1 unless told otherwise; docker-compose.yml
# widens that for the proxy in front of it. WebSocket messages are held to the HTTP body
# limit (100 KiB).
CMD ["uvicorn", "--factory", "app.main:create_app", "--host", "0.0.0.0", "--port", "8000", \
     "--proxy-headers", "--no-access-log", "--ws-max-size", "102400"]
