export {
  DomainError,
  defineErrors,
  errorCatalogs,
  type CodeOf,
  type ErrorCatalog,
  type ErrorDetails,
  type ErrorMessages,
} from "./domain-error.js";
