"""The OpenAPI 3.1 description of the warehouse API, written by hand.

Keep it in step with :mod:`inventory.api`; a test checks that every route
of ``inventory.api_urls`` appears here.
"""

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {}},
            },
        }
    },
}


def _errors(*statuses):
    descriptions = {
        "400": "The request is malformed.",
        "401": "Missing or invalid bearer token.",
        "403": "The location is not linked to this integration.",
        "404": "Unknown location or order.",
        "409": "Rejected by the stock rules; nothing was written.",
        "413": "The body or the item list is too large.",
        "422": "Some values are invalid; nothing was written.",
    }
    return {
        status: {
            "description": descriptions[status],
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
            },
        }
        for status in statuses
    }


SCHEMA = {
    "openapi": "3.1.0",
    "info": {
        "title": "Junction warehouse API",
        "version": "1.0.0",
        "description": "For warehouse systems (3PLs, WMS): send stock counts, "
        "read the orders to ship from your locations, and report shipments. "
        "Each integration has its own token and sees only its locations. "
        "Bodies are limited to 1 MiB.",
    },
    "servers": [{"url": "/api/warehouse"}],
    "security": [{"bearer": []}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": _ERROR,
            "StockSnapshot": {
                "type": "object",
                "required": ["location", "items"],
                "properties": {
                    "location": {"type": "string", "description": "Location code."},
                    "reference": {"type": "string", "maxLength": 150},
                    "items": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 10000,
                        "description": "Absolute on-hand counts. Products not "
                        "listed keep their on-hand stock.",
                        "items": {
                            "type": "object",
                            "required": ["sku", "on_hand"],
                            "properties": {
                                "sku": {"type": "string"},
                                "on_hand": {"type": "integer", "minimum": 0},
                            },
                        },
                    },
                },
            },
            "ShipmentList": {
                "type": "object",
                "properties": {
                    "location": {"type": "string"},
                    "next_after": {"type": ["integer", "null"]},
                    "orders": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "order_id": {"type": "integer"},
                                "reference": {"type": "string"},
                                "channel": {"type": "string"},
                                "placed_at": {"type": "string", "format": "date-time"},
                                "ship_to": {
                                    "type": "object",
                                    "properties": {
                                        key: {"type": "string"}
                                        for key in (
                                            "name",
                                            "line1",
                                            "line2",
                                            "city",
                                            "region",
                                            "postal_code",
                                            "country_code",
                                        )
                                    },
                                },
                                "lines": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "line_id": {"type": "integer"},
                                            "sku": {"type": "string"},
                                            "title": {"type": "string"},
                                            "quantity": {"type": "integer"},
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
            "Fulfillment": {
                "type": "object",
                "required": [
                    "order_id",
                    "location",
                    "carrier",
                    "tracking_number",
                    "lines",
                ],
                "properties": {
                    "order_id": {"type": "integer"},
                    "location": {"type": "string"},
                    "carrier": {"type": "string"},
                    "service": {"type": "string"},
                    "tracking_number": {"type": "string"},
                    "tracking_url": {"type": "string", "format": "uri"},
                    "shipped_at": {"type": "string", "format": "date-time"},
                    "lines": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["line_id", "quantity"],
                            "properties": {
                                "line_id": {"type": "integer"},
                                "quantity": {"type": "integer", "minimum": 1},
                            },
                        },
                    },
                },
            },
            "FulfillmentResult": {
                "type": "object",
                "properties": {
                    "fulfillment_id": {"type": "integer"},
                    "reference": {"type": "string"},
                    "order_id": {"type": "integer"},
                    "order_status": {"type": "string"},
                },
            },
        },
    },
    "paths": {
        "/openapi.json": {
            "get": {
                "summary": "This description.",
                "security": [],
                "responses": {"200": {"description": "The OpenAPI document."}},
            }
        },
        "/stock-snapshots": {
            "post": {
                "summary": "Set on-hand stock at one location, all or nothing.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/StockSnapshot"}
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "Written.",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "location": {"type": "string"},
                                        "changed": {"type": "integer"},
                                        "unchanged": {"type": "integer"},
                                    },
                                }
                            }
                        },
                    },
                    **_errors("400", "401", "403", "404", "409", "413", "422"),
                },
            }
        },
        "/shipments": {
            "get": {
                "summary": "Orders waiting to ship from one location.",
                "parameters": [
                    {
                        "name": "location",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "after",
                        "in": "query",
                        "description": "The next_after of the previous page.",
                        "schema": {"type": "integer"},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": 500,
                            "default": 100,
                        },
                    },
                ],
                "responses": {
                    "200": {
                        "description": "One page of orders.",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ShipmentList"}
                            }
                        },
                    },
                    **_errors("400", "401", "403", "404"),
                },
            }
        },
        "/fulfillments": {
            "post": {
                "summary": "Report a shipment. Repeating one (same order, location "
                "and tracking number) returns the first with status 200.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/Fulfillment"}
                        }
                    },
                },
                "responses": {
                    "201": {
                        "description": "Recorded.",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "$ref": "#/components/schemas/FulfillmentResult"
                                }
                            }
                        },
                    },
                    "200": {
                        "description": "Already recorded.",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "$ref": "#/components/schemas/FulfillmentResult"
                                }
                            }
                        },
                    },
                    **_errors("400", "401", "403", "404", "409", "413", "422"),
                },
            }
        },
    },
}
