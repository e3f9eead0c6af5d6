/** The api's OpenAPI document as JSON text, built with its bundle (lib/build/openapiDocument.cjs). */
declare module 'virtual:openapi-document' {
  const document: string | undefined;
  export default document;
}
