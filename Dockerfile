FROM python:3.11-slim
WORKDIR /app
# Logs reach `docker logs` line by line, as they are written.
ENV PYTHONUNBUFFERED=1
# What the app needs at run time (and its build backend), at the versions and hashes of
# requirements.lock: requirements.lock itself also holds the development tools.
COPY requirements-runtime.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir --require-hashes -r requirements-runtime.lock
COPY domain ./domain
COPY jam ./jam
COPY projections ./projections
COPY ranking ./ranking
COPY ui ./ui
RUN pip install --no-cache-dir --no-deps --no-build-isolation . && useradd --create-home openjam
USER openjam
# 8000: the web app; 9100: a worker's /metrics (OPENJAM_METRICS_PORT).
EXPOSE 8000 9100
# jam serve and jam worker stop gracefully on SIGTERM.
STOPSIGNAL SIGTERM
CMD ["jam", "serve", "--host", "0.0.0.0", "--port", "8000"]
