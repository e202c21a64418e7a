"""The scraper catalog in the OpenAPI document (seeker.api.scrapers)."""

from seeker.api.openapi.shapes import (
    Operation,
    Schema,
    all_required,
    array,
    boolean,
    error,
    extended,
    integer,
    json_body,
    mapping,
    number,
    obj,
    ok,
    path_parameter,
    ref,
    string,
)

TAG = "scrapers"


def schemas() -> dict[str, Schema]:
    return {
        "Scraper": all_required(
            {
                "name": string(),
                "description": string(),
                "contract": integer(description="the scraper contract it speaks"),
                "schema": obj({}, description="its settings, as a JSON Schema"),
                "order": array(string(), "the settings in the order the image declares them"),
                "resources": all_required(
                    {
                        "memory_bytes": integer(),
                        "cpus": number(),
                        "timeout_s": number(),
                        "network": boolean(),
                    },
                    "what it declares it needs: the defaults of a job that names it",
                ),
                "arches": array(string()),
                "variants": array(
                    all_required(
                        {
                            "arch": string(),
                            "image": string("the reference it was added as"),
                            "digest": string("the image's id"),
                            "size_bytes": integer(minimum=0),
                        }
                    ),
                    "its image for each architecture",
                ),
                "added_at": number(),
            },
            "A catalog entry, read from a scraper image's labels.",
        ),
        "FormField": all_required(
            {
                "name": string(),
                "label": string(),
                "kind": string(enum=["text", "integer", "number", "checkbox", "choice", "list"]),
                "help": string(),
                "required": boolean(),
                "default": {"description": "the setting's default, of its type, or null"},
                "nullable": boolean(),
                "choices": array({}),
                "item": string("what a list holds: text, integer or number"),
                "bounds": mapping(number(), "minimum, maximum and their exclusive forms"),
            },
            "One setting as the submit form shows it.",
        ),
    }


def operations() -> list[Operation]:
    name = path_parameter("name", "the scraper's name")
    unknown = error("no such scraper (unknown_scraper)")
    return [
        Operation(
            "POST",
            "/api/v1/scrapers",
            "addScraper",
            "Add a scraper image of the Seeker's Docker Engine to the catalog",
            TAG,
            {
                201: ok(ref("Scraper"), "the entry"),
                400: error("invalid_scraper: not a scraper image, or a bad request"),
                404: error(
                    "the Docker Engine lacks the image or cannot be reached (image_unavailable)"
                ),
                500: error("its archive cannot be written to the data dir (archive_error)"),
            },
            body=json_body(
                obj(
                    {"image": string(minLength=1, description="REPOSITORY:TAG or an id")},
                    required=("image",),
                )
            ),
        ),
        Operation(
            "GET",
            "/api/v1/scrapers",
            "listScrapers",
            "List the catalog",
            TAG,
            {200: ok(all_required({"scrapers": array(ref("Scraper"))}))},
        ),
        Operation(
            "GET",
            "/api/v1/scrapers/{name}",
            "getScraper",
            "Show a scraper with the fields of its settings form",
            TAG,
            {
                200: ok(extended("Scraper", {"form": array(ref("FormField"))})),
                404: unknown,
            },
            (name,),
        ),
        Operation(
            "DELETE",
            "/api/v1/scrapers/{name}",
            "removeScraper",
            "Remove a scraper and the archives of its images",
            TAG,
            {
                200: ok(all_required({"name": string(), "removed": boolean()})),
                404: unknown,
            },
            (name,),
        ),
    ]
