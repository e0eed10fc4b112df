"""The FastAPI app: health, risk tiers, prediction with and without explanation, and the page.

Every user error is a 4xx JSON body `{"detail": [{"field": ..., "problem": ...}]}`; anything
unexpected is a 500 in the same shape, and the server keeps serving.
"""
# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations at runtime,
# and they name objects local to create_app.

import inspect
import os
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import torch
import uvicorn
from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import APIKeyHeader
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from threadpoolctl import threadpool_limits

from cardiofusion import __version__
from cardiofusion.config import Params, load_params
from cardiofusion.errors import CardiofusionError
from cardiofusion.inputs import InputLimits
from cardiofusion.runtime import pick_device
from cardiofusion.serve import memory
from cardiofusion.serve.clinical_form import ClinicalForm
from cardiofusion.serve.errors import InputError
from cardiofusion.serve.forms import EXTRA_FIELDS, limited_form_route
from cardiofusion.serve.guards import (
    API_KEY_HEADER,
    ApiKeyGuard,
    BodyTimeout,
    FoldUnknownMethods,
    UploadGuard,
)
from cardiofusion.serve.observability import add_observability, configure_access_log
from cardiofusion.serve.openapi import narrowed_openapi
from cardiofusion.serve.page import render_page
from cardiofusion.serve.predictor import Predictor
from cardiofusion.serve.schemas import DetailedPrediction, Health, Prediction, Problem, RiskLevel
from cardiofusion.serve.uploads import (
    ECG_FIELD,
    EXPECTED,
    MODALITY_OF_FIELD,
    PCG_FIELD,
    RECORD_FIELD,
    RequestSizeLimit,
    read_optional,
    record_upload,
)

DISCONNECTED = 499  # the client went away before its body was read (nginx's convention)
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": description}
    for status, description in [
        (400, "a malformed multipart body"),
        (401, "missing or wrong API key"),
        (408, "the body stalled for serve.read_timeout_s"),
        (413, "an upload over serve.max_upload_mb, an image over the pixel budget, a recording "
              "over the duration bound, or a text field over 1 KB"),
        (415, "a file that is not a readable image / recording"),
        (422, "a missing, unknown, repeated or invalid field"),
        (503, "serve.uploads_in_flight uploads are being received; retry after a second"),
    ]
}


def create_app(model_path: Path | None = None, params: Params | None = None) -> FastAPI:
    """Load the model once and build the app around it. The API key, if any, is read from the
    environment variable named by serve.api_key_env when the app is created; set but empty, it
    is refused rather than read as "no authentication".

    Without arguments (`uvicorn cardiofusion.serve.app:create_app --factory --workers N`,
    gunicorn) the params file is $CARDIOFUSION_PARAMS (params.yaml), overridden by the lines of
    $CARDIOFUSION_SET (key=value), and the model $CARDIOFUSION_MODEL (serve.model).
    """
    if params is None:
        overrides = os.environ.get("CARDIOFUSION_SET", "").splitlines()
        params = load_params(os.environ.get("CARDIOFUSION_PARAMS", "params.yaml"), overrides)
    model_path = model_path or Path(os.environ.get("CARDIOFUSION_MODEL") or params.serve.model)
    configure_access_log()
    api_key = _api_key(params.serve.api_key_env)
    device = pick_device(params.device)
    predictor = Predictor(Path(model_path), device, InputLimits.from_params(params.validate_))
    max_bytes = int(params.serve.max_upload_mb * 2**20)
    # at most this many requests hold their uploads and decode at once: this, not the number
    # of clients, bounds the server's memory (README, bad input)
    decoding = threading.BoundedSemaphore(params.serve.concurrent_predictions)
    page = render_page(predictor.form, predictor.model_id,
                       params.serve.api_key_env if api_key else None, predictor.modalities,
                       predictor.loaded.spec.ecg_kind)

    app = FastAPI(
        title="cardiofusion",
        version=__version__,
        description="Probability of an abnormal heart from an ECG scan, a heart-sound recording "
                    "and clinical values, with per-patient modality contributions. "
                    f"When the server sets {params.serve.api_key_env}, send it as header "
                    f"{API_KEY_HEADER} (all endpoints but /, /health and the docs, "
                    "/metrics included).",
    )
    body_limit = 2 * max_bytes + 2**20  # two files plus the form fields and multipart framing
    too_large = (f"request body over {body_limit / 2**20:.3g} MB; each file may have "
                 f"{max_bytes / 2**20:.3g} MB (serve.max_upload_mb)")
    app.router.route_class = limited_form_route(len(predictor.form.fields) + EXTRA_FIELDS)
    # outermost last: methods folded, then logged and counted, then the key, then the uploads
    app.add_middleware(RequestSizeLimit, limit=body_limit, problem=too_large)
    app.add_middleware(UploadGuard, limit=params.serve.uploads_in_flight,
                       timeout=params.serve.read_timeout_s)
    app.add_middleware(ApiKeyGuard, key=api_key, variable=params.serve.api_key_env)
    add_observability(app)
    app.add_middleware(FoldUnknownMethods)
    _add_error_handlers(app, too_large)
    # the key is checked by ApiKeyGuard before the body is read; this declares it in the
    # OpenAPI schema, and only when the server has one
    key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False,
                              description=f"the server's {params.serve.api_key_env}")
    protected = [Depends(key_header)] if api_key else []
    clinical_values = _clinical_dependency(predictor.form)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def upload_page() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/health", response_model=Health)
    async def health() -> Health:  # on the event loop: answers while every worker thread decodes
        info = predictor.loaded.info
        return Health(
            model_loaded=True, device=str(device), model_path=str(predictor.path),
            model_id=predictor.model_id, threshold=predictor.threshold,
            temperature=predictor.temperature, test_metrics=info.get("test_metrics"),
            versions=info.get("versions", {}),
        )

    # HEAD too, for load balancers' health checks (the same answer, without its body)
    app.add_api_route("/health", health, methods=["HEAD"], response_model=Health,
                      operation_id="health_head")

    @app.get("/risk-levels", response_model=list[RiskLevel], dependencies=protected,
             responses={401: ERROR_RESPONSES[401]})
    def risk_levels() -> list[RiskLevel]:
        return [RiskLevel.model_validate(asdict(tier)) for tier in predictor.tiers]

    ecg_upload = Annotated[UploadFile | None, File(description=_described(ECG_FIELD, predictor))]
    record_upload_files = Annotated[list[UploadFile] | None,
                                    File(description=_described(RECORD_FIELD, predictor))]
    pcg_upload = Annotated[UploadFile | None, File(description=_described(PCG_FIELD, predictor))]
    clinical_input = Annotated[dict[str, float | str | None], Depends(clinical_values)]
    ecg_kind = predictor.loaded.spec.ecg_kind if "ecg" in predictor.modalities else None
    unused_ecg_field = ECG_FIELD if ecg_kind == "signal" else RECORD_FIELD

    @contextmanager
    def sent_files(ecg_image: UploadFile | None, ecg_record: list[UploadFile] | None,
                   pcg_audio: UploadFile | None) -> Iterator[tuple[bytes | Path | None,
                                                                   bytes | None]]:
        """The ECG (image bytes, or the path of a record written to a private folder for the
        request) and the recording; an ECG of the kind the model does not read is a 422."""
        image = read_optional(ECG_FIELD, ecg_image, max_bytes, predictor.modalities)
        if image is not None and ecg_kind == "signal":
            raise InputError.one(ECG_FIELD, "this model reads ECG signal records, not images: "
                                            f"send {RECORD_FIELD}")
        with record_upload(ecg_record, max_bytes, ecg_kind) as record:
            if record is not None and image is not None:
                raise InputError.one(RECORD_FIELD, f"send one ECG: {ECG_FIELD} or "
                                                   f"{RECORD_FIELD}, not both")
            yield (record if record is not None else image,
                   read_optional(PCG_FIELD, pcg_audio, max_bytes, predictor.modalities))

    @app.post("/predict", response_model=Prediction, dependencies=protected,
              responses=ERROR_RESPONSES, max_body_size=body_limit)
    def predict(clinical: clinical_input, ecg_image: ecg_upload = None,
                ecg_record: record_upload_files = None,
                pcg_audio: pcg_upload = None) -> Prediction:
        """Probability, class and risk level of one patient, from any non-empty subset of the
        model's modalities: each upload and every clinical field is optional."""
        with decoding, sent_files(ecg_image, ecg_record, pcg_audio) as (ecg, pcg):
            try:
                return predictor.predict(ecg, pcg, clinical)
            finally:
                memory.release_freed()

    @app.post("/predict/detailed", response_model=DetailedPrediction, dependencies=protected,
              responses=ERROR_RESPONSES, max_body_size=body_limit)
    def predict_detailed(clinical: clinical_input, ecg_image: ecg_upload = None,
                         ecg_record: record_upload_files = None,
                         pcg_audio: pcg_upload = None) -> DetailedPrediction:
        """The prediction plus this patient's modality Shapley values, the most influential
        clinical fields and a confidence note, over the modalities sent."""
        with decoding, sent_files(ecg_image, ecg_record, pcg_audio) as (ecg, pcg):
            try:
                return predictor.explain(ecg, pcg, clinical)
            finally:
                memory.release_freed()

    accepted = [field for field, modality in MODALITY_OF_FIELD.items()
                if modality in predictor.modalities and field != unused_ecg_field]
    app.openapi = narrowed_openapi(app.openapi, accepted + predictor.form.names)  # type: ignore
    return app


def run_server(model_path: Path, params: Params, params_file: str = "params.yaml",
               overrides: Sequence[str] = ()) -> None:
    """`python app.py` / `cardiofusion serve`: uvicorn on params.serve.host:port; with
    serve.workers > 1, worker processes that each build the app with `create_app()`."""
    # one request is small: a thread pool per request (torch's, BLAS's) on a 2-core machine
    # only contends with the other requests; concurrency comes from uvicorn's worker threads
    torch.set_num_threads(1)
    threadpool_limits(limits=1)
    memory.limit_arenas()
    host, port, workers = params.serve.host, params.serve.port, params.serve.workers
    print(f"🩺 Serving {model_path} on http://{host}:{port} with {workers} worker(s) "
          "(API docs: /docs, metrics: /metrics)")
    if workers == 1:
        uvicorn.run(create_app(model_path, params), host=host, port=port, log_level="info",
                    access_log=False,  # the app logs its own line per request
                    limit_concurrency=params.serve.max_connections)
        return
    os.environ.update(CARDIOFUSION_PARAMS=params_file, CARDIOFUSION_MODEL=str(model_path),
                      CARDIOFUSION_SET="\n".join(overrides))
    uvicorn.run("cardiofusion.serve.app:create_app", factory=True, workers=workers, host=host,
                port=port, log_level="info", access_log=False,
                limit_concurrency=params.serve.max_connections)


def _api_key(variable: str) -> str | None:
    """The key the server requires, None when the variable is unset."""
    key = os.environ.get(variable)
    if key is not None and not key.strip():
        raise CardiofusionError(
            f"{variable} is set but empty, which would leave the API open to anyone; set it to "
            f"a secret (e.g. `export {variable}=$(openssl rand -hex 16)`), or unset it to "
            "serve without a key on a trusted network")
    return key


def _described(field: str, predictor: Predictor) -> str:
    if MODALITY_OF_FIELD[field] not in predictor.modalities:
        return f"this model was trained without this input: leave {field} out"
    if field in (ECG_FIELD, RECORD_FIELD):
        wanted = RECORD_FIELD if predictor.loaded.spec.ecg_kind == "signal" else ECG_FIELD
        if field != wanted:
            return f"this model reads its ECG from {wanted}: leave {field} out"
    return f"{EXPECTED[field]}; optional (leave it out when the patient has none)"


def _clinical_dependency(form: ClinicalForm) -> Any:
    """A dependency taking each clinical field as an optional form field, so /docs lists them.

    The fields come from the model, so its signature is built here; parameters are named
    clinical_<i> with the column as alias (a column need not be a Python identifier).
    """
    columns = {f"clinical_{i}": field.name for i, field in enumerate(form.fields)}
    known = {ECG_FIELD, RECORD_FIELD, PCG_FIELD, *columns.values()}

    async def clinical_values(request: Request, **raw: str | None
                              ) -> dict[str, float | str | None]:
        submitted = await request.form()  # already parsed by FastAPI: this reads its cache
        sent = Counter(name for name, _ in submitted.multi_items())
        problems: list[tuple[str | None, str]] = [
            (name, f"sent {count} times; send each field once")
            for name, count in sorted(sent.items()) if count > 1 and name != RECORD_FIELD
        ]
        problems += [
            (name, f"unknown field; expected {ECG_FIELD} or {RECORD_FIELD}, {PCG_FIELD} and "
                   f"the clinical fields {', '.join(form.names)}")
            for name in sorted(set(sent) - known)
        ]
        try:
            values = form.parse({columns[key]: value for key, value in raw.items()})
        except InputError as exc:
            problems += exc.problems
        if problems:
            raise InputError(problems)
        return values

    parameters = [inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY,
                                    annotation=Request)]
    for (key, column), field in zip(columns.items(), form.fields, strict=True):
        parameters.append(inspect.Parameter(
            key, inspect.Parameter.KEYWORD_ONLY, default=None,
            annotation=Annotated[str | None, Form(alias=column, description=field.describe(),
                                                  json_schema_extra=field.json_schema())],
        ))
    clinical_values.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return clinical_values


def _add_error_handlers(app: FastAPI, too_large: str) -> None:
    @app.exception_handler(InputError)
    def input_error(request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [_validation_problem(error) for error in exc.errors()]
        return JSONResponse(InputError(problems).body(), status_code=422)

    @app.exception_handler(ClientDisconnect)
    def client_gone(request: Request, exc: ClientDisconnect) -> Response:
        return Response(status_code=DISCONNECTED)  # nobody reads it: the log line is what stays

    @app.exception_handler(BodyTimeout)
    def body_stalled(request: Request, exc: BodyTimeout) -> JSONResponse:
        problem = "the client stopped sending the body (serve.read_timeout_s); send it again"
        return JSONResponse(InputError.one("request body", problem, 408).body(), status_code=408)

    @app.exception_handler(HTTPException)
    def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 413:  # a body without Content-Length that grew over the limit
            error = InputError.one("request body", too_large, 413)
        else:
            error = InputError.one(None, str(exc.detail), exc.status_code)
        return JSONResponse(error.body(), status_code=error.status, headers=exc.headers)

    @app.exception_handler(Exception)
    def internal_error(request: Request, exc: Exception) -> JSONResponse:
        # Starlette re-raises the exception after this answer, so uvicorn logs the traceback
        problem = f"internal error ({type(exc).__name__}); the server log has the details"
        return JSONResponse(InputError.one(None, problem).body(), status_code=500)


def _validation_problem(error: Any) -> tuple[str | None, str]:
    """FastAPI's validation error as (field, problem) in this API's words."""
    location = [str(part) for part in error.get("loc", ())]
    field = location[-1] if len(location) > 1 else None
    if error.get("type") == "missing":
        wanted = EXPECTED.get(field or "")
        return field, f"required: upload {wanted}" if wanted else "required"
    if "UploadFile" in str(error.get("msg", "")):
        wanted = EXPECTED.get(field or "", "a file")
        return field, f"expected a file upload, got a text value; send {wanted}"
    return field, str(error.get("msg", "invalid"))
