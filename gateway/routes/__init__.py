"""HTTP handlers, one module per endpoint family; litestar otherwise appears only in the wiring (app, server,
resources, errors, auth, logging, cors, openapi), never in the pipeline, router or providers."""
