"""schemathesis over the admin and device OpenAPI documents, and the documents kept whole."""
