"""A recommendation service written the seed's way, as a team adopting the sidecar writes it.

Logging: structlog configured with the seed's block, verbatim, writing through the stdlib
logging module to a file (SEED_LOG_FILE) — so logger.exception writes the JSON line and then
the stdlib handler appends the traceback as plain text lines. Tracing: the OpenTelemetry SDK
with a BatchSpanProcessor (its default 5 s schedule) exporting over OTLP gRPC to the sidecar
(OTEL_EXPORTER_OTLP_ENDPOINT), the seed's four spans: recommendation_pipeline (the server span,
carrying the request ID as http.request.header.x-request-id) → geospatial_query,
feature_enrichment, ml_inference. The seed's correlation_id (the span context's trace id, a
Python integer) is on the recommendation_request line; the other lines carry only the
request_id, as most services' lines do.

GET /recommendations?user_id=&lat=&lng=&scenario=  (X-Request-ID header: the request ID)
  scenario: ok (default), error (ml_inference raises: logger.exception, 500), slow (a
  warning line), critical (a critical line, 503).
GET /healthz
SIGTERM: flushes the spans and exits.
"""

import json
import logging
import math
import os
import random
import signal
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import structlog
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

logging.basicConfig(filename=os.environ["SEED_LOG_FILE"], format="%(message)s", level=logging.DEBUG)

# Configure structured logging (the seed's block, verbatim)
structlog.configure(
    processors=[
        structlog.stdlib.filter_by_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.TimeStamper(fmt="iso"),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        structlog.processors.UnicodeDecoder(),
        structlog.processors.JSONRenderer()
    ],
    context_class=dict,
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)

logger = structlog.get_logger("recommendation_service")

# Configure tracing (the seed's, over OTLP to the sidecar instead of the Jaeger agent)
trace.set_tracer_provider(TracerProvider(resource=Resource.create()))  # OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
tracer = trace.get_tracer(__name__)
span_processor = BatchSpanProcessor(OTLPSpanExporter(insecure=True))
trace.get_tracer_provider().add_span_processor(span_processor)

PLACES = [(37.7749 + random.uniform(-0.05, 0.05), -122.4194 + random.uniform(-0.05, 0.05), f"place-{i}")
          for i in range(500)]
CACHE = {}


def generate_correlation_id():
    """Generate correlation ID for request tracking (the seed's)"""
    span = trace.get_current_span()
    if span:
        return span.get_span_context().trace_id
    return str(uuid.uuid4())


class ModelError(Exception):
    pass


def recommend(request_id, user_id, lat, lng, scenario):
    started = time.monotonic()
    with tracer.start_as_current_span("recommendation_pipeline", kind=SpanKind.SERVER) as span:
        span.set_attribute("http.request.method", "GET")
        span.set_attribute("http.route", "/recommendations")
        span.set_attribute("url.path", "/recommendations")
        span.set_attribute("http.request.header.x-request-id", [request_id])
        span.set_attribute("user_id", user_id)
        span.set_attribute("location.lat", lat)
        span.set_attribute("location.lng", lng)
        try:
            # Geographic filtering
            with tracer.start_as_current_span("geospatial_query") as geo_span:
                key = (round(lat, 2), round(lng, 2))
                cache_hit = key in CACHE
                logger.info("cache_lookup", request_id=request_id, cache_hit=cache_hit)
                if not cache_hit:
                    CACHE[key] = [p for p in PLACES if math.hypot(p[0] - lat, p[1] - lng) < 0.03]
                nearby_places = CACHE[key]
                geo_span.set_attribute("candidates_found", len(nearby_places))
            # Feature enrichment
            with tracer.start_as_current_span("feature_enrichment") as feat_span:
                features = [(p, random.random()) for p in nearby_places]
                feat_span.set_attribute("features_loaded", len(features))
            # ML inference
            with tracer.start_as_current_span("ml_inference") as ml_span:
                if scenario == "error":
                    raise ModelError(f"score is NaN for user {user_id}")
                scores = sorted(features, key=lambda f: -f[1])[:10]
                ml_span.set_attribute("inference_time_ms", (time.monotonic() - started) * 1000)
            if scenario == "slow":
                logger.warning("slow_request", request_id=request_id, response_time_ms=250)
            if scenario == "critical":
                logger.critical("model_unavailable", request_id=request_id)
                span.set_attribute("http.response.status_code", 503)
                span.set_status(Status(StatusCode.ERROR))
                return 503, {"error": "model unavailable", "request_id": request_id}
            logger.info(
                "recommendation_request",
                correlation_id=generate_correlation_id(),
                request_id=request_id,
                user_id=user_id,
                location={"lat": lat, "lng": lng},
                num_results=len(scores),
                response_time_ms=round((time.monotonic() - started) * 1000, 3),
                cache_hit=cache_hit,
            )
            span.set_attribute("http.response.status_code", 200)
            return 200, {"request_id": request_id, "results": [p[0][2] for p in scores]}
        except ModelError:
            logger.exception("recommendation_failed", request_id=request_id, user_id=user_id)
            span.set_attribute("http.response.status_code", 500)
            span.set_status(Status(StatusCode.ERROR))
            return 500, {"error": "internal error", "request_id": request_id}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/healthz":
            return self.reply(200, {"status": "ok"})
        if url.path != "/recommendations":
            return self.reply(404, {"error": "not found"})
        q = parse_qs(url.query)
        try:
            user_id = int(q.get("user_id", ["1"])[0])
            lat = float(q.get("lat", ["37.7749"])[0])
            lng = float(q.get("lng", ["-122.4194"])[0])
        except ValueError:
            return self.reply(400, {"error": "user_id, lat and lng must be numbers"})
        request_id = self.headers.get("X-Request-ID") or str(uuid.uuid4())
        status, body = recommend(request_id, user_id, lat, lng, q.get("scenario", ["ok"])[0])
        self.reply(status, body)

    def reply(self, status, body):
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass  # access lines would go to stderr, not the structured log


def main():
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("SEED_PORT", "8090"))), Handler)

    def stop(*_):
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logger.info("service_started", port=server.server_address[1])
    server.serve_forever()
    trace.get_tracer_provider().shutdown()  # exports what the BatchSpanProcessor still holds
    logging.shutdown()


if __name__ == "__main__":
    sys.exit(main())
