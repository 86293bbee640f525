// The Function App on a Flex Consumption plan (Linux, .NET 10 isolated worker), running as the
// user-assigned identity. docs/operations.md explains why Flex Consumption rather than Elastic Premium.
//
// Every storage connection is identity based:
//   AzureWebJobsStorage__*  the Functions host, the timer's schedule monitor and the Durable Task hub
//                           (the Azure Storage provider uses the AzureWebJobsStorage connection)
//   SMETA_STORAGE__*        the app's registry and datasets (ServerlessMeta.Storage.StorageOptions)
// Flex Consumption rejects the settings it manages itself (FUNCTIONS_WORKER_RUNTIME,
// FUNCTIONS_EXTENSION_VERSION, WEBSITE_RUN_FROM_PACKAGE, ...): the runtime is set in functionAppConfig.

@description('Function App name (globally unique: it is the host name).')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Azure region.')
param location string

@description('Tags for the plan and the app; the app also gets azd-service-name.')
param tags object

@description('Name of the service in azure.yaml; azd finds the app by this tag.')
param azdServiceName string

@description('Resource id of the user-assigned identity.')
param identityId string

@description('Client id of the user-assigned identity.')
param identityClientId string

@description('Blob endpoint of the storage account, e.g. https://account.blob.core.windows.net/.')
param blobEndpoint string

@description('Queue endpoint of the storage account.')
param queueEndpoint string

@description('Table endpoint of the storage account.')
param tableEndpoint string

@description('Blob container holding the deployment package.')
param deploymentContainerName string

@description('Application Insights connection string (not a secret with local auth disabled: it only names the endpoint).')
param applicationInsightsConnectionString string

@description('Memory of each instance in MB; libtorch and a pretraining shard need 2,048 at least.')
@allowed([
  2048
  4096
])
param instanceMemoryMB int

@description('Most instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Instances kept warm for the HTTP functions (0: scale to zero, pay nothing while idle).')
@minValue(0)
param alwaysReadyHttpInstances int

@description('Instances kept warm for the orchestrator and activity functions.')
@minValue(0)
param alwaysReadyDurableInstances int

@description('Concurrent HTTP requests per instance; 0 keeps the platform default for the memory size.')
@minValue(0)
@maxValue(1000)
param httpPerInstanceConcurrency int

@description('The app\'s own settings (task hub, schedule, model configuration, API limits, storage names).')
param appSettings object

var storageSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: blobEndpoint
  AzureWebJobsStorage__queueServiceUri: queueEndpoint
  AzureWebJobsStorage__tableServiceUri: tableEndpoint
  SMETA_STORAGE__blobServiceUri: blobEndpoint
  SMETA_STORAGE__tableServiceUri: tableEndpoint
  SMETA_STORAGE__clientId: identityClientId
}

var telemetrySettings = {
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // DefaultAzureCredential (and anything else using ManagedIdentityCredential) picks this identity.
  AZURE_CLIENT_ID: identityClientId
}

var allSettings = union(appSettings, storageSettings, telemetrySettings)

var alwaysReady = concat(
  alwaysReadyHttpInstances > 0 ? [{ name: 'http', instanceCount: alwaysReadyHttpInstances }] : [],
  alwaysReadyDurableInstances > 0 ? [{ name: 'durable', instanceCount: alwaysReadyDurableInstances }] : []
)

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-11-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': azdServiceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [for setting in items(allSettings): { name: setting.key, value: string(setting.value) }]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: alwaysReady
        triggers: httpPerInstanceConcurrency > 0 ? { http: { perInstanceConcurrency: httpPerInstanceConcurrency } } : null
      }
    }
  }
}

// azd deploys with Entra ID tokens; basic (user name and password) publishing is never needed.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = app.name
output id string = app.id
output defaultHostName string = app.properties.defaultHostName
output planName string = plan.name
