FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY gateway ./gateway
COPY providers ./providers
RUN pip install --no-cache-dir . && useradd --system --home /app imagegate && mkdir -p /app/data && chown imagegate /app/data
USER imagegate
ENV HOST=0.0.0.0 PORT=8000 DATA_DIR=/app/data MEDIA_STORE=file:///app/data/media LOG_FORMAT=json
EXPOSE 8000
CMD ["imagegate", "serve"]
