FROM python:3.11-slim
WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY domain ./domain
COPY jam ./jam
COPY projections ./projections
COPY ranking ./ranking
COPY ui ./ui
RUN pip install --no-cache-dir --no-deps --no-build-isolation . && useradd --create-home openjam
USER openjam
EXPOSE 8000
CMD ["jam", "serve", "--host", "0.0.0.0", "--port", "8000"]
